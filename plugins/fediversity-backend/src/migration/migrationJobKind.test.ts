import { mockServices } from '@backstage/backend-test-utils';
import { join } from 'node:path';
import { REVOKE_KEY_SCRIPT } from '@fediversity/plugin-fediversity-node';
import { PermanentJobError } from '../jobs/errors';
import { JobEngine } from '../jobs/JobEngine';
import { JobService } from '../jobs/JobService';
import { JobStore } from '../jobs/JobStore';
import { Redactor } from '../jobs/redaction';
import { JobKindRegistry } from '../jobs/registry';
import { JobTestDatabases } from '../jobs/__testUtils__/databases';
import { runJobsJanitor } from '../jobs/janitor';
import { FakeClock } from '../jobs/__testUtils__/FakeClock';
import { expectGoldenLog, renderEventLog } from '../jobs/__testUtils__/goldenLog';
import { ConnectedHost, HostConnector } from './hosts';
import { MIGRATION_JOB_KIND, migrationJobKind } from './migrationJobKind';
import { TargetEndpoint } from './params';
import { AT_GATE_LINE, GATE_LINE, gated, startReady } from './readyCommands';
import { MigrationStrategy, QUIESCE_COMMAND, QUIESCED_LINE, StrategyEnv } from './strategy';
import { MemoryDnsProvider } from '../testing/migrationFixtures';

/**
 * The state machine with an injected clock, fake hosts and fake strategies (no SSH, no PostgreSQL): every
 * scenario's event log is compared with a committed golden file, and the order of host effects is asserted.
 */
const T0 = 1_000_000;
const ENTITY = 'component:default/testapp-instance';
const ALICE = 'user:default/alice';

const databases = new JobTestDatabases();
afterAll(() => databases.stop());

class FakeStrategy implements MigrationStrategy {
  constructor(
    readonly name: string,
    private readonly effects: string[],
    private readonly options: { verifyFails?: boolean; chainQuiesce?: boolean } = {},
  ) {}

  private note(what: string) {
    this.effects.push(`${this.name}.${what}`);
  }

  async preflight() {
    this.note('preflight');
    return { version: 15 };
  }
  async sourceBytes() {
    return { bytes: 1000, targetPath: '/srv' };
  }
  async prepareTarget() {
    this.note('prepareTarget');
  }
  async initialSync(env: StrategyEnv) {
    this.note('initialSync');
    await env.saveCheckpoint({ copied: true });
    return { bytes: 1000 };
  }
  async catchUp() {
    this.note('catchUp');
    return { seconds: 1, caughtUp: true };
  }
  /** With chainQuiesce: a command that runs the app's quiesce and then this strategy's stop (QUIESCE_COMMAND). */
  async prepareWindow(env: StrategyEnv) {
    if (this.options.chainQuiesce) env.ready?.keep(QUIESCE_COMMAND, startReady(env.source, gated(['quiesce-then-stop']), { gate: true, check: false }));
  }
  async finalSync(env: StrategyEnv) {
    this.note('finalSync');
    const chained = env.ready?.take(QUIESCE_COMMAND);
    if (chained) this.note(`finalSync took the quiesce's command: ${(await chained.fire('')).stdout.trim()}`);
    return { delta: 10 };
  }
  async verify() {
    this.note('verify');
    if (this.options.verifyFails) throw new PermanentJobError(`Verification failed: ${this.name} differs`);
    return { equal: true };
  }
  async cutOver() {
    this.note('cutOver');
  }
  async isCutOver() {
    return true;
  }
  async healthy() {
    return true;
  }
  async undoFinalSync() {
    this.note('undoFinalSync');
  }
  async undoQuiesce() {
    this.note('undoQuiesce');
  }
  async undoInitialSync() {
    this.note('undoInitialSync');
  }
}

const fakeConnector =
  (effects: string[]): HostConnector =>
  async role => ({
    role,
    async run(command, options = {}) {
      let argv = command;
      if (argv[0] === 'bash' && argv[2]?.startsWith(GATE_LINE)) {
        // A command started ahead runs, like the real gate, only once it is sent `go`.
        options.onStderr?.(`${AT_GATE_LINE}\n`);
        const input = await Promise.resolve(options.stdin).catch(() => '');
        if (!input?.startsWith('go\n')) return { exitCode: 125, stdout: '', stderr: '' };
        argv = argv.slice(4);
      }
      if (argv[0] === 'df') return { exitCode: 0, stdout: 'Avail Mounted\n1000000 /\n', stderr: '' };
      if (argv[0] === 'quiesce-then-stop') effects.push(`${role}$ ${argv.join(' ')}`);
      if (argv[0] === 'quiesce-then-stop') return { exitCode: 0, stdout: `${QUIESCED_LINE}\nstopped\n`, stderr: '' };
      // The job directory's removals are left out; a file's removal (a revoked key's) is an effect.
      if (argv[0] !== 'tee' && !(argv[0] === 'rm' && argv[1] === '-rf')) effects.push(`${role}$ ${argv.join(' ')}`);
      return { exitCode: 0, stdout: '', stderr: '' };
    },
    async close() {},
  }) satisfies ConnectedHost;

const params = {
  app: {
    name: 'testapp',
    dataClasses: [
      { name: 'database', kind: 'database', engine: 'postgresql', replication: 'postgresql-streaming', quiesce: [['systemctl', 'stop', 'app.service']], unquiesce: [['systemctl', 'start', 'app.service']] },
      { name: 'media', kind: 'directories', directories: ['/var/lib/app'], replication: 'rsync-quiesced', quiesce: [['systemctl', 'stop', 'app.service']], unquiesce: [['systemctl', 'start', 'app.service']] },
    ],
  },
  source: { host: 'source.example', username: 'root', hostKey: 'SHA256:c291cmNlLWtleS1maW5nZXJwcmludC1mb3ItdGVzdHM', hostPublicKey: 'ssh-ed25519 AAAAsource', privateKey: { secretRef: 'source-key' } },
  target: { host: 'target.example', username: 'root', hostKey: 'SHA256:dGFyZ2V0LWtleS1maW5nZXJwcmludC1mb3ItdGVzdHM', hostPublicKey: 'ssh-ed25519 AAAAtarget', privateKey: { secretRef: 'target-key' } },
  peer: { identityFile: '/root/.ssh/migration_ed25519' },
  dns: { zone: 'example.org', name: 'app', type: 'A', targetAddress: '192.0.2.20' },
  observeSeconds: 0,
};

/** Params of a migration that makes its target on a real cluster: no address or key until it is provisioned. */
const lateParams = {
  ...params,
  target: { bindAfterProvision: true, username: 'root', privateKey: { secretRef: 'target-key' } },
  peer: { identityFile: '/root/.ssh/fediversity-migration-0a1b2c3d', madeForMigration: true },
  provision: { cluster: 'pve', node: 'pve-b', ostemplate: 'local:vztmpl/nixos.tar.xz', storage: 'local-zfs', diskGb: 8, vmid: 120 },
  dns: { zone: 'example.org', name: 'app', type: 'A' },
};
const BOUND: TargetEndpoint = {
  address: '198.51.100.7',
  host: '198.51.100.7',
  port: 22,
  username: 'root',
  hostPublicKey: 'ssh-ed25519 AAAAbound',
  hostKeyFingerprint: 'SHA256:Ym91bmQta2V5LWZpbmdlcnByaW50LWZvci10ZXN0cw',
};

/** A failed verify's rollback, newest step first; the quiesce's undo runs what strategies chained to it, then the app. */
const UNDO_AFTER_FAILED_VERIFY = [
      'postgres:database.undoFinalSync',
      'files:media.undoFinalSync',
      'postgres:database.undoQuiesce',
      'files:media.undoQuiesce',
      'source$ systemctl start app.service',
      'postgres:database.undoInitialSync',
      'files:media.undoInitialSync',
];

async function scenario(options: {
  verifyFails?: boolean;
  chainQuiesce?: boolean;
  clock?: FakeClock;
  late?: boolean;
  bindFails?: string;
  /** Cancel at the approval gate instead of approving. */
  cancelAtApproval?: boolean;
  /** Events written on their own (not with a step's start or success) noted among the effects. */
  noteOwnEvents?: boolean;
}) {
  const effects: string[] = [];
  const dns = new MemoryDnsProvider();
  const connector = fakeConnector(effects);
  const kind = migrationJobKind({
    connect: async (role, host, signal) => {
      if (options.late) effects.push(`connect ${role} ${host.host} ${host.hostKey}`);
      return connector(role, host, signal);
    },
    provisioner: {
      ensureTarget: async () => {
        effects.push('provision');
        return { vmid: 120, node: 'pve-b' };
      },
    },
    binder: {
      bind: async ctx => {
        effects.push(`bind ${ctx.cluster}/${ctx.guest.vmid}`);
        if (options.bindFails) throw new PermanentJobError(options.bindFails);
        return BOUND;
      },
    },
    dns: () => dns,
    strategies: () => [new FakeStrategy('postgres:database', effects, options), new FakeStrategy('files:media', effects)],
  });
  const knex = await databases.init('SQLITE_3');
  const clock = options.clock ?? new FakeClock(T0);
  const store = new JobStore(knex);
  if (options.noteOwnEvents) {
    const appendEvent = store.appendEvent.bind(store);
    store.appendEvent = async (lease, now, event) => {
      // As a commit takes a while: what was sent before the write began is done by then.
      await new Promise(resolve => setImmediate(resolve));
      effects.push(`event: ${event.message}`);
      return appendEvent(lease, now, event);
    };
  }
  const registry = new JobKindRegistry([kind]);
  const redactor = new Redactor();
  const engine = new JobEngine({ store, kinds: registry, logger: mockServices.logger.mock(), clock, redactor, owner: 'engine-a', concurrency: 1, random: () => 0.5 });
  const service = new JobService({ store, kinds: registry, clock, redactor });
  const { job } = await service.create({ kind: MIGRATION_JOB_KIND, entityRef: ENTITY, params: options.late ? lateParams : params }, ALICE);
  await engine.runUntilIdle();
  if (options.bindFails) {
    await kind.closeSessions();
    return { effects, beforeApproval: effects, dns, log: renderEventLog(await store.listEvents(job.id, 0, 10_000), T0), job: await store.getJob(job.id), steps: await store.getSteps(job.id) };
  }
  expect((await store.getJob(job.id))?.status).toBe('awaiting_approval');
  // What the job holds while it waits (the engine's resource locks).
  const locks = (await knex('fediversity_locks').where({ job_id: job.id }).select('resource_key')).map(row => row.resource_key).sort();
  const beforeApproval = [...effects];
  await clock.advance(60_000);
  if (options.cancelAtApproval) await service.cancel(job.id, ALICE);
  else await service.approve(job.id, ALICE, { comment: 'window starts' });
  await engine.runUntilIdle();
  const log = renderEventLog(await store.listEvents(job.id, 0, 10_000), T0);
  await kind.closeSessions();
  return { effects, beforeApproval, dns, log, job: await store.getJob(job.id), steps: await store.getSteps(job.id), locks };
}

describe('instance.migrate state machine', () => {
  it('runs the steps in order, parks for approval with the source untouched, and cuts over', async () => {
    const result = await scenario({});
    expect(result.job?.status).toBe('succeeded');
    // Until the approval nothing ran on the source but reads and copies (no quiesce).
    expect(result.beforeApproval.filter(effect => effect.startsWith('source$'))).toEqual([]);
    expect(result.effects).toEqual([
      'postgres:database.preflight',
      'files:media.preflight',
      'target$ systemctl stop app.service',
      'postgres:database.prepareTarget',
      'files:media.prepareTarget',
      'postgres:database.initialSync',
      'files:media.initialSync',
      'postgres:database.catchUp',
      'files:media.catchUp',
      'postgres:database.catchUp',
      'files:media.catchUp',
      'source$ systemctl stop app.service',
      'postgres:database.finalSync',
      'files:media.finalSync',
      'postgres:database.verify',
      'files:media.verify',
      'postgres:database.cutOver',
      'files:media.cutOver',
      'target$ systemctl start app.service',
      // observe: the host-to-host connection the window's rsync passes shared is closed.
      expect.stringMatching(/^source\$ ssh -o ControlPath=\/tmp\/fediversity-migration-[0-9a-f-]+\.ssh\/control -O exit -- fediversity-peer$/),
    ]);
    expect(await result.dns.listRecords('example.org', 'app')).toEqual([
      { name: 'app.example.org.', type: 'A', ttl: 60, values: ['192.0.2.20'] },
    ]);
    expect(result.steps.find(step => step.name === 'approve-cutover')).toMatchObject({ approvedBy: ALICE });
    expectGoldenLog(join(__dirname, '__golden__', 'migration-happy-path.log'), result.log);
  });

  it('binds a target made by the migration after provisioning, checks it then, and uses that endpoint throughout', async () => {
    const result = await scenario({ late: true });
    expect(result.job?.status).toBe('succeeded');
    const connects = result.effects.filter(effect => effect.startsWith('connect'));
    // Nothing reaches the target before it is bound; from then on only the bound address, with the pinned key.
    expect(connects[0]).toBe(`connect source source.example ${params.source.hostKey}`);
    expect(connects.filter(effect => effect.startsWith('connect target'))).not.toHaveLength(0);
    expect(new Set(connects.filter(effect => effect.startsWith('connect target')))).toEqual(new Set([`connect target 198.51.100.7 ${BOUND.hostKeyFingerprint}`]));
    const order = result.effects.filter(effect => !effect.startsWith('connect'));
    expect(order.slice(0, 8)).toEqual([
      'provision',
      'bind pve/120',
      'source$ mkdir -p -m 700 -- /root/.ssh',
      'source$ sh -c umask 077 && cat > "$1" sh /root/.ssh/fediversity-migration-0a1b2c3d',
      // The public half is commented with the key file's name, which is what revokes it.
      expect.stringMatching(/^target\$ sh -c .*authorized_keys.* sh ssh-ed25519 \S+ fediversity-migration-0a1b2c3d$/),
      'postgres:database.preflight',
      'files:media.preflight',
      'target$ systemctl stop app.service',
    ]);
    expect(result.steps.find(step => step.name === 'preflight')?.output).toMatchObject({ deferred: true });
    // Held like the guest's other jobs (backups) hold it: no backup or restore of it runs meanwhile.
    expect(result.locks).toContain('guest:pve/120');
    expect(await result.dns.listRecords('example.org', 'app')).toEqual([{ name: 'app.example.org.', type: 'A', ttl: 60, values: ['198.51.100.7'] }]);
    expect(result.log).toMatch(/warn {2}\[provision-target\] Trust on first use: the target guest at 198\.51\.100\.7:22 presented host key SHA256:Ym91bmQ/);
    expect(result.log).not.toMatch(/PRIVATE KEY/);
    // Once the target serves, the observe step ends what the key allowed: the source can no longer log in there.
    expect(order.slice(-3)).toEqual([
      expect.stringMatching(/^source\$ ssh -o ControlPath=\S+ -O exit -- fediversity-peer$/),
      `target$ sh -c ${REVOKE_KEY_SCRIPT} sh fediversity-migration-0a1b2c3d`,
      'source$ rm -f -- /root/.ssh/fediversity-migration-0a1b2c3d',
    ]);
    expect(result.log).toContain('Revoked the key pair made for the copy');
  });

  it('rolls a target made by the migration back when the cut-over is cancelled, in a run that bound nothing itself', async () => {
    const result = await scenario({ late: true, cancelAtApproval: true });
    expect(result.job).toMatchObject({ status: 'cancelled' });
    expect(result.log).not.toContain('CompensationFailed');
    // The undo reaches the bound target, as the steps did, and the key made for the copy is revoked.
    expect(result.effects).toContain('postgres:database.undoInitialSync');
    expect(result.effects.slice(-2)).toEqual([
      `target$ sh -c ${REVOKE_KEY_SCRIPT} sh fediversity-migration-0a1b2c3d`,
      'source$ rm -f -- /root/.ssh/fediversity-migration-0a1b2c3d',
    ]);
  });

  it('rolls a target made by the migration back in reverse order when verification fails, revoking its key last', async () => {
    const result = await scenario({ late: true, verifyFails: true });
    expect(result.job).toMatchObject({ status: 'failed', error: { message: expect.stringContaining('Verification failed') } });
    expect(result.log).not.toContain('CompensationFailed');
    const undo = result.effects.slice(result.effects.indexOf('files:media.verify') + 1).filter(effect => !effect.startsWith('connect'));
    expect(undo).toEqual([
      ...UNDO_AFTER_FAILED_VERIFY,
      `target$ sh -c ${REVOKE_KEY_SCRIPT} sh fediversity-migration-0a1b2c3d`,
      'source$ rm -f -- /root/.ssh/fediversity-migration-0a1b2c3d',
    ]);
    // The undo reached the target at the address it was bound to, and nowhere else.
    expect(new Set(result.effects.filter(effect => effect.startsWith('connect target')))).toEqual(new Set([`connect target 198.51.100.7 ${BOUND.hostKeyFingerprint}`]));
  });

  it('fails clearly when the new target never shows an address, having touched neither host', async () => {
    const result = await scenario({ late: true, bindFails: 'Gave up waiting: guest 120 has no IPv4 address yet' });
    expect(result.job).toMatchObject({ status: 'failed', error: { message: expect.stringContaining('guest 120 has no IPv4 address yet') } });
    expect(result.effects).toEqual(['provision', 'bind pve/120']);
    expect(await result.dns.listRecords('example.org', 'app')).toEqual([]);
  });

  it("starts the window when the app's stop is sent; the reading kept before it is only for a rerun", async () => {
    /** A clock that moves a millisecond each time it is read, so that readings taken apart differ. */
    class TickingClock extends FakeClock {
      private ticks = 0;
      override now() {
        return super.now() + this.ticks++;
      }
    }
    const result = await scenario({ clock: new TickingClock(T0) });
    expect(result.job?.status).toBe('succeeded');
    const quiesce = result.steps.find(step => step.name === 'quiesce')!;
    const kept = (quiesce.checkpoint as { startedAt: number }).startedAt;
    const started = (quiesce.output as { startedAt: number }).startedAt;
    // The checkpoint's commit and the "Quiescing" event came in between: not downtime, the app still served.
    expect(started).toBeGreaterThan(kept);
    const cutOver = result.steps.find(step => step.name === 'cut-over')!.output as { servingAt: number; downtimeSeconds: number };
    expect(cutOver.downtimeSeconds).toBe((cutOver.servingAt - started) / 1000);
  });

  it("fires a strategy's chained quiesce instead of the app's own commands, and hands it on to the final sync", async () => {
    const result = await scenario({ chainQuiesce: true });
    expect(result.job?.status).toBe('succeeded');
    const quiesced = result.effects.indexOf('source$ quiesce-then-stop');
    expect(quiesced).toBeGreaterThan(-1);
    // The app's own stop did not run besides it; the final sync got the command, its output whole.
    expect(result.effects.slice(0, result.effects.indexOf('postgres:database.finalSync'))).not.toContain('source$ systemctl stop app.service');
    expect(result.effects).toContain(`postgres:database.finalSync took the quiesce's command: ${QUIESCED_LINE}\nstopped`);
    expect(result.log).toContain('Quiescing on the source: systemctl stop app.service {"followedBy":"postgres:database:quiesce"}');
  });

  it('writes nothing of its own between the promotion and the app’s start, which goes out before its event', async () => {
    const result = await scenario({ noteOwnEvents: true });
    expect(result.job?.status).toBe('succeeded');
    const fromFinalSync = result.effects.slice(result.effects.indexOf('postgres:database.finalSync'));
    expect(fromFinalSync.slice(0, fromFinalSync.indexOf('target$ systemctl start app.service') + 2)).toEqual([
      'postgres:database.finalSync',
      'files:media.finalSync',
      'postgres:database.verify',
      'files:media.verify',
      'postgres:database.cutOver',
      'files:media.cutOver',
      'target$ systemctl start app.service',
      'event: Starting the app on the target: systemctl start app.service',
    ]);
    // The steps' closing words are in the log all the same, each before its step's success.
    expect(result.log).toMatch(/\[final-sync\] Final sync done .*\n.*\[final-sync\] Step succeeded/);
    expect(result.log).toMatch(/\[verify\] Target verified equal to the source .*\n.*\[verify\] Step succeeded/);
  });

  it('rolls back in reverse order when verification fails, leaving the source serving and DNS unchanged', async () => {
    const result = await scenario({ verifyFails: true });
    expect(result.job?.status).toBe('failed');
    expect(result.effects.slice(result.effects.indexOf('postgres:database.verify'))).toEqual([
      'postgres:database.verify',
      'files:media.verify',
      ...UNDO_AFTER_FAILED_VERIFY,
    ]);
    expect(result.effects).not.toContain('postgres:database.cutOver');
    expect(await result.dns.listRecords('example.org', 'app')).toEqual([]);
    expectGoldenLog(join(__dirname, '__golden__', 'migration-verify-fails-rolls-back.log'), result.log);
  });

  it('cancels and rolls back when nobody approves the cut-over before its deadline; the source serves on', async () => {
    const effects: string[] = [];
    const dns = new MemoryDnsProvider();
    const kind = migrationJobKind({
      connect: fakeConnector(effects),
      dns: () => dns,
      strategies: () => [new FakeStrategy('postgres:database', effects), new FakeStrategy('files:media', effects)],
    });
    const store = new JobStore(await databases.init('SQLITE_3'));
    const clock = new FakeClock(T0);
    const registry = new JobKindRegistry([kind]);
    const redactor = new Redactor();
    const engine = new JobEngine({ store, kinds: registry, logger: mockServices.logger.mock(), clock, redactor, owner: 'engine-a', concurrency: 1, random: () => 0.5 });
    const service = new JobService({ store, kinds: registry, clock, redactor });
    const janitor = () => runJobsJanitor({ store, clock, logger: mockServices.logger.mock() });
    const { job } = await service.create(
      { kind: MIGRATION_JOB_KIND, entityRef: ENTITY, params: { ...params, approvalTimeoutSeconds: 3_600 } },
      ALICE,
    );
    await engine.runUntilIdle();
    expect((await service.get(job.id)).approvalDeadline).toBe(new Date(T0 + 3_600_000).toISOString());

    await clock.advance(3_600_000);
    await janitor();
    await engine.runUntilIdle();
    await kind.closeSessions();
    expect(await store.getJob(job.id)).toMatchObject({ status: 'cancelled', error: { name: 'ApprovalExpired' } });
    // The standby is fenced; nothing ever ran on the source (no quiesce, so no unquiesce needed either).
    expect(effects.slice(effects.lastIndexOf('files:media.catchUp') + 1)).toEqual([
      'postgres:database.undoInitialSync',
      'files:media.undoInitialSync',
    ]);
    expect(effects.filter(effect => effect.startsWith('source$'))).toEqual([]);
    expect(await dns.listRecords('example.org', 'app')).toEqual([]);
    expectGoldenLog(
      join(__dirname, '__golden__', 'migration-approval-deadline.log'),
      renderEventLog(await store.listEvents(job.id, 0, 10_000), T0),
    );
  });
});
