import { join } from 'node:path';
import { readFlakeFiles } from '@fediversity/plugin-fediversity-node';
import { actionContext, outputsOf } from '../testing/actionContext';
import { MemoryCheckpointStore } from '../testing/checkpointStore';
import { exampleInputs, schemaErrors } from '../testing/examples';
import { SimulatorHarness, startSimulatorHarness } from '../testing/simulatorHarness';
import { createBackupScheduleAction } from './backupSchedule';
import { examples } from './backupSchedule.examples';

jest.setTimeout(30_000);

let h: SimulatorHarness;
beforeAll(async () => {
  h = await startSimulatorHarness();
});
afterAll(() => h.stop());

describe('backupSchedule examples', () => {
  const action = () =>
    createBackupScheduleAction({
      clusters: h.clusters,
      guestAccess: h.guestAccess,
      backend: { registerInstance: jest.fn(), enqueueJob: jest.fn() },
    catalog: { getEntityByRef: jest.fn(async () => ({}) as any) },
      flakeFiles: () => readFlakeFiles(join(__dirname, '../../../../nix')),
    });

  it.each(exampleInputs(createBackupScheduleAction({} as any), examples).map(e => [e.description, e.input]))(
    '%s',
    async (_description, input) => {
      expect(schemaErrors(action(), input)).toEqual([]);
      const ctx = actionContext(input, new MemoryCheckpointStore(), { isDryRun: true });
      await action().handler(ctx);
      expect(Object.keys(outputsOf(ctx)).length).toBeGreaterThan(0);
    },
  );
});
