import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEntityRef } from '@backstage/catalog-model';
import { parse } from 'yaml';
import { TemplateAction, TemplateExample } from '@backstage/plugin-scaffolder-node';
import { readFlakeFiles } from '@fediversity/plugin-fediversity-node';
import { FediversityActionDeps } from '../actions/deps';
import { actionContext, outputsOf } from './actionContext';
import { MemoryCheckpointStore } from './checkpointStore';
import { exampleInputs, schemaErrors } from './examples';
import { SimulatorHarness, startSimulatorHarness } from './simulatorHarness';

/**
 * Runs every documented example of an action as a dry run against the PVE simulator: the example's input must
 * satisfy the action's schema and the dry run must produce outputs.
 */
// eslint-disable-next-line jest/no-export -- a suite shared by the *.examples.test.ts files; this file is not a test file itself
export function describeExamples(
  name: string,
  createAction: (deps: FediversityActionDeps) => TemplateAction<any, any, any>,
  examples: TemplateExample[],
) {
  let h: SimulatorHarness;
  beforeAll(async () => {
    h = await startSimulatorHarness();
  }, 30_000);
  afterAll(() => h.stop());

  describe(`${name} examples`, () => {
    const action = () =>
      createAction({
        clusters: h.clusters,
        guestAccess: h.guestAccess,
        backend: { registerInstance: jest.fn(), enqueueJob: jest.fn(), createSchedule: jest.fn(), listSchedules: jest.fn() },
        catalog: { getEntityByRef: jest.fn(async (ref: string) => appDefinition(ref) ?? ({} as any)) },
        flakeFiles: () => readFlakeFiles(join(__dirname, '../../../../nix')),
      } as FediversityActionDeps);

    it.each(exampleInputs(createAction({} as any), examples).map(e => [e.description, e.input]))(
      '%s',
      async (_description, input) => {
        expect(schemaErrors(action(), input)).toEqual([]);
        const ctx = actionContext(input, new MemoryCheckpointStore(), { isDryRun: true });
        await action().handler(ctx);
        expect(Object.keys(outputsOf(ctx)).length).toBeGreaterThan(0);
      },
      30_000,
    );
  });
}

/** An app definition of the repository's catalog (`component:default/mastodon`), as the catalog would return it. */
function appDefinition(ref: string) {
  const file = join(__dirname, '../../../../catalog/apps', `${parseEntityRef(ref).name}.yaml`);
  return existsSync(file) ? parse(readFileSync(file, 'utf8')) : undefined;
}
