import { StaticPveClusters } from '@fediversity/plugin-fediversity-node';
import { InstanceStore } from '../instances/InstanceStore';
import { applyInstanceMigrations } from '../instances/migrations';
import { mastodonRequest } from '../instances/testFixtures';
import { JobStore } from '../jobs/JobStore';
import { JobTestDatabases } from '../jobs/__testUtils__/databases';
import { FakeClock } from '../jobs/__testUtils__/FakeClock';
import { DrillStore } from './DrillStore';
import { DrillTicker } from './DrillTicker';
import { drillJobKind } from './jobKinds';

const databases = new JobTestDatabases();
afterAll(() => databases.stop());

describe('DrillTicker', () => {
  it('enqueues one drill per instance and period', async () => {
    const knex = await databases.init('SQLITE_3');
    await applyInstanceMigrations(knex);
    const instances = new InstanceStore(knex);
    await instances.create(mastodonRequest, 'user:default/alice');
    const jobs = new JobStore(knex);
    const clock = new FakeClock(Date.parse('2026-11-25T00:00:00Z'));
    const kind = drillJobKind(new StaticPveClusters([]), new DrillStore(knex));
    const ticker = new DrillTicker({ instances, jobs, kind, clock, intervalMs: 86_400_000 });

    const [first] = await ticker.tick();
    expect(await jobs.getJob(first)).toMatchObject({
      kind: 'backup.drill',
      entityRef: 'component:default/mastodon-social-example-org',
      params: { guest: { cluster: 'demo', node: 'pve-a', vmid: 104 }, storage: 'local-zfs' },
    });
    await clock.advance(3_600_000);
    expect(await ticker.tick()).toEqual([]);
    await clock.advance(86_400_000);
    expect(await ticker.tick()).toHaveLength(1);
  });
});
