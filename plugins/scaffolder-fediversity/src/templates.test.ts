import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from 'jsonschema';
import { createTemplateRenderer } from 'nunjitsu';
import { parse } from 'yaml';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports -- the repository's template generator is a script, not a package; this test holds the committed templates to its output
import { renderTemplates } from '../../../templates/generate';
import { createActions } from './actions';
import { SAMPLE_STEP_OUTPUTS } from './__testUtils__/examples';

const REPO = join(__dirname, '../../..');
const TEMPLATES = join(REPO, 'templates');

const committed = () =>
  new Map(
    readdirSync(TEMPLATES)
      .filter(file => file.endsWith('.yaml'))
      .map(file => [file, readFileSync(join(TEMPLATES, file), 'utf8')]),
  );

const appDefinitions = () =>
  readdirSync(join(REPO, 'catalog/apps'))
    .map(file => parse(readFileSync(join(REPO, 'catalog/apps', file), 'utf8')))
    .filter(entity => entity.spec?.type === 'fediversity-app')
    .map(entity => entity.metadata.name as string);

const templates = () =>
  [...committed()]
    .filter(([file]) => file.startsWith('fediversity-'))
    .map(([file, text]) => ({ file, template: parse(text) }));

/** All parameter pages of a template as one object schema, as the scaffolder's REST API validates them. */
function parameterSchema(template: any) {
  const pages: any[] = template.spec.parameters;
  return {
    type: 'object',
    required: pages.flatMap(page => page.required ?? []),
    properties: Object.assign({}, ...pages.map(page => page.properties)),
  };
}

describe('templates/', () => {
  it('are exactly what templates/generate.ts makes (run it after changing catalog/apps or the generator)', () => {
    expect(committed()).toEqual(renderTemplates(REPO));
  });

  it('cover every app definition, plus bare NixOS and Linux guests, all listed in all.yaml', () => {
    const names = templates().map(({ template }) => template.metadata.name).sort();
    expect(names).toEqual(
      [...appDefinitions().map(app => `fediversity-${app}`), 'fediversity-linux-guest', 'fediversity-nixos-guest'].sort(),
    );
    const location = parse(committed().get('all.yaml')!);
    expect(location.spec.targets).toEqual(templates().map(({ file }) => `./${file}`).sort());
  });

  it('need only owner and domain, and explain what is wrong with them', () => {
    for (const { template } of templates()) {
      const schema = parameterSchema(template);
      expect(schema.required.sort()).toEqual(['domain', 'owner']);
      const validator = new Validator();
      expect(validator.validate({ owner: 'group:default/social-team', domain: 'social.example.org' }, schema).errors).toEqual([]);
      const bad = validator.validate({ owner: 'group:default/social-team', domain: 'Social Example' }, schema).errors;
      expect(bad.map(error => error.property)).toEqual(['instance.domain']);
      const missing = validator.validate({ domain: 'social.example.org' }, schema).errors;
      expect(missing.map(error => error.message)).toEqual(['requires property "owner"']);
      const page = template.spec.parameters[0];
      expect(page.errorMessage.properties.domain).toMatch(/lower-case DNS name/);
    }
  });

  it('pick node and storage from live data (the frontend plugin’s placement pickers) on the page that holds the size', () => {
    for (const { file, template } of templates()) {
      const page = template.spec.parameters.find((candidate: any) => candidate.properties.node);
      expect({ file, node: page.properties.node['ui:field'], storage: page.properties.storage['ui:field'] }).toEqual({
        file,
        node: 'FediversityNodePicker',
        storage: 'FediversityStoragePicker',
      });
      // The pickers' validators see only their own page's values.
      expect(Object.keys(page.properties)).toEqual(expect.arrayContaining(['memoryMiB', 'diskGiB']));
    }
  });

  it('use only fediversity actions, with inputs their schemas accept when run with just owner and domain', () => {
    const actions = new Map(createActions({} as any).map(action => [action.id, action]));
    const renderer = createTemplateRenderer({ allowRegexExecution: true, filters: {}, globals: {} });
    const steps: Record<string, { output: Record<string, unknown> }> = {};
    for (const [path, value] of Object.entries(SAMPLE_STEP_OUTPUTS)) {
      const [, step, , name] = path.split('.');
      (steps[step] ??= { output: {} }).output[name] = value;
    }
    Object.assign(steps.guest.output, { hostname: 'social', cluster: 'demo' });
    Object.assign(steps.reachable.output, { hostKeyFingerprint: 'SHA256:x', trust: 'demo' });
    const context = { parameters: { owner: 'group:default/social-team', domain: 'social.example.org' }, steps };

    for (const { file, template } of templates()) {
      for (const step of template.spec.steps) {
        const action = actions.get(step.action);
        expect({ file, action: step.action, known: Boolean(action) }).toEqual({ file, action: step.action, known: true });
        const input = JSON.parse(JSON.stringify(step.input), (_key, value) =>
          typeof value === 'string' ? renderer.renderValue(value, context as any) : value,
        );
        const errors = new Validator().validate(input, action!.schema!.input as any).errors.map(e => e.stack);
        expect({ file, step: step.id, errors }).toEqual({ file, step: step.id, errors: [] });
      }
    }
  });
});
