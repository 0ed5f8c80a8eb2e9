import { createApp } from '@backstage/frontend-defaults';
import catalogPlugin from '@backstage/plugin-catalog/alpha';
import catalogGraphPlugin from '@backstage/plugin-catalog-graph/alpha';
import orgPlugin from '@backstage/plugin-org/alpha';
import scaffolderPlugin from '@backstage/plugin-scaffolder/alpha';
import searchPlugin from '@backstage/plugin-search/alpha';
import signalsPlugin from '@backstage/plugin-signals/alpha';
import userSettingsPlugin from '@backstage/plugin-user-settings/alpha';
import fediversityPlugin from '@fediversity/plugin-fediversity/alpha';
// Live node and storage pickers of the provisioning templates' forms (ui:field FediversityNodePicker/StoragePicker).
import { fediversityScaffolderModule } from '@fediversity/plugin-fediversity/alpha';
import { homeModule } from './modules/home';
import { navModule } from './modules/nav';
import { signInModule } from './modules/signIn';

export default createApp({
  features: [
    catalogPlugin,
    catalogGraphPlugin,
    scaffolderPlugin,
    searchPlugin,
    orgPlugin,
    userSettingsPlugin,
    signalsPlugin,
    fediversityPlugin,
    fediversityScaffolderModule,
    homeModule,
    navModule,
    signInModule,
  ],
});
