import { renderHook } from '@testing-library/react';
import { featureFlagsApiRef } from '@backstage/core-plugin-api';
import { createExtensionTester, mockApis, TestApiProvider } from '@backstage/frontend-test-utils';
import { ScaffolderFieldExtensions, useCustomFieldExtensions } from '@backstage/plugin-scaffolder-react';
import { FormFieldBlueprint } from '@backstage/plugin-scaffolder-react/alpha';
import { fediversityScaffolderModule, nodePickerField, storagePickerField } from '../../scaffolderFields';
import { FediversityNodePickerFieldExtension, FediversityStoragePickerFieldExtension } from '../../scaffolderFieldsLegacy';
import { FediversityNodePicker, validateNodeChoice } from './FediversityNodePicker';
import { FediversityStoragePicker, validateStorageChoice } from './FediversityStoragePicker';

describe('placement pickers are registered', () => {
  it('for the new frontend system: form fields of the scaffolder, named as the templates use them', async () => {
    const loader = FormFieldBlueprint.dataRefs.formFieldLoader;
    expect(await createExtensionTester(nodePickerField).get(loader)()).toMatchObject({
      name: 'FediversityNodePicker',
      component: FediversityNodePicker,
      validation: validateNodeChoice,
    });
    expect(await createExtensionTester(storagePickerField).get(loader)()).toMatchObject({
      name: 'FediversityStoragePicker',
      component: FediversityStoragePicker,
      validation: validateStorageChoice,
    });
    expect(fediversityScaffolderModule).toMatchObject({ pluginId: 'scaffolder' });
    expect(nodePickerField).toMatchObject({ attachTo: { id: 'api:scaffolder/form-fields', input: 'formFields' } });
  });

  it('for the legacy frontend system: field extensions the scaffolder page finds in its outlet', () => {
    const outlet = (
      <ScaffolderFieldExtensions>
        <FediversityNodePickerFieldExtension />
        <FediversityStoragePickerFieldExtension />
      </ScaffolderFieldExtensions>
    );
    const { result } = renderHook(() => useCustomFieldExtensions(outlet), {
      wrapper: ({ children }) => <TestApiProvider apis={[[featureFlagsApiRef, mockApis.featureFlags()]]}>{children}</TestApiProvider>,
    });
    expect(result.current).toEqual([
      { name: 'FediversityNodePicker', component: FediversityNodePicker, validation: validateNodeChoice },
      { name: 'FediversityStoragePicker', component: FediversityStoragePicker, validation: validateStorageChoice },
    ]);
  });
});
