import { PermanentJobError } from '../jobs/errors';
import { JobKind, RetryPolicy, RunStepDefinition, StepContext } from '../jobs/types';
import { withParams } from '../jobs/withParams';
import { freeSpace } from './diskSpace';
import { checkDns, dnsPointsAtTarget, DnsProviderLookup, pointDnsAtTarget } from './dnsCutOver';
import { HostConnector, HostSessionPool, HostShell, READY_PER_HOST, SecretResolver, watchLines } from './hosts';
import { bindTarget, isLateBound, MigrationJobParams, migrationJobParamsSchema, MigrationParams, TargetEndpoint } from './params';
import { InstanceRelocator } from './instanceRelocation';
import { TargetProvisioner } from './provisionTarget';
import { authorisePeerKey, revokePeerKey } from './peerKey';
import { TargetBinder } from './targetBinding';
import { gated, ReadyCommand, ReadyCommands, startReady } from './readyCommands';
import { closeControlConnection } from './rsync';
import { appCommands, settleSeconds } from './appCommands';
import { strategiesFromAppDefinition } from './strategies';
import { MigrationStrategy, QUIESCE_COMMAND, QUIESCED_LINE, StrategyEnv } from './strategy';

export const MIGRATION_JOB_KIND = 'instance.migrate';

/**
 * How long the quiesce step waits, before the window, for the commands started ahead to reach their gates
 * (tens of milliseconds on busy cores); past it the window opens all the same.
 */
const READY_WAIT_MS = 2_000;

export interface MigrationDeps {
  connect: HostConnector;
  /** Resolves the secrets params name besides the hosts' keys (`replicationPassword`). */
  resolveSecret?: SecretResolver;
  dns?: DnsProviderLookup;
  provisioner?: TargetProvisioner;
  /** Binds a target created by the migration (a real cluster's new guest): its address and host key. */
  binder?: TargetBinder;
  /** Default: the strategies the app definition names. */
  strategies?: (params: MigrationParams) => MigrationStrategy[];
  retry?: RetryPolicy;
  /** How often the observe step checks the target. */
  observeIntervalMs?: number;
  /** Points the instance's record (and so the catalog) at the target once it serves. */
  relocator?: InstanceRelocator;
}

/** A step as the engine runs it: the job's params, whose target may not be bound yet. */
type JobCtx = StepContext<MigrationJobParams>;
/** A step once the target is bound (boundContext): every step after the provision step. */
type Ctx = StepContext<MigrationParams>;

interface Hosts {
  source: HostShell;
  target: HostShell;
}

/**
 * `instance.migrate`: moves an instance to another host with the state machine of replication.md §2:
 * preflight → provision target → initial sync → catch up → approval → quiesce → final sync → verify →
 * cut over (point of no return) → observe. Before the cut-over every failure rolls back (compensations
 * in reverse: restart the source database, unquiesce the app, fence the target); the source is only ever
 * quiesced and is kept as it is until a separate decommission job.
 */
export type MigrationJobKind = JobKind<MigrationJobParams> & {
  /** Closes the SSH sessions jobs keep between steps (backend shutdown, end of a test). */
  closeSessions(): Promise<void>;
};

export function migrationJobKind(deps: MigrationDeps): MigrationJobKind {
  const strategiesOf = (params: MigrationParams) => (deps.strategies ?? strategiesFromAppDefinition)(params);

  const pool = new HostSessionPool(deps.connect);
  const ready = new ReadyCommands(READY_PER_HOST);

  async function releaseJob(jobId: string) {
    ready.disarmJob(jobId);
    await pool.release(jobId);
  }

  /** Both hosts for one step (pinned keys); sessions are reused by the job's next steps unless it fails. */
  async function withHosts<T>(
    ctx: Ctx,
    roles: Array<keyof Hosts>,
    fn: (hosts: Hosts) => Promise<T>,
    options: { optional?: Array<keyof Hosts> } = {},
  ): Promise<T> {
    const connect = async (role: keyof Hosts): Promise<HostShell> => {
      try {
        return await pool.acquire(ctx.job.id, role, ctx.job.params[role], ctx.signal);
      } catch (error) {
        const message = `The ${role} host is unreachable: ${(error as Error).message}`;
        if (!options.optional?.includes(role)) throw new Error(message);
        await ctx.log(message, {}, 'warn');
        return unreachable(role, message);
      }
    };
    try {
      const [source, target] = await Promise.all([
        roles.includes('source') ? connect('source') : unavailable('source'),
        roles.includes('target') ? connect('target') : unavailable('target'),
      ]);
      return await fn({ source, target });
    } catch (error) {
      // A broken session must not be reused by the retry, nor a command started for a step that will not come.
      await releaseJob(ctx.job.id);
      throw error;
    }
  }

  // Bound once per run of a job (the engine keeps its params object): no validation again in the window.
  const boundParams = new WeakMap<MigrationJobParams, MigrationParams>();

  /** The step's context with the target bound: as created, or with the endpoint the provision step recorded. */
  function boundContext(ctx: JobCtx): Ctx {
    let params = boundParams.get(ctx.job.params);
    if (!params) {
      const provisioned = ctx.outputs['provision-target'] as { target?: TargetEndpoint } | undefined;
      params = bindTarget(ctx.job.params, provisioned?.target);
      if (!params) throw new PermanentJobError('The target guest was never bound: the provision step recorded no address for it');
      boundParams.set(ctx.job.params, params);
    }
    return withParams(ctx, params);
  }

  /** Steps that run once the target is bound: each sees the job's params with the target's endpoint. */
  function boundSteps(steps: RunStepDefinition<MigrationParams>[]): RunStepDefinition<MigrationJobParams>[] {
    return steps.map(({ run, reconcile, compensate, ...step }) => ({
      ...step,
      run: ctx => run(boundContext(ctx)),
      ...(reconcile ? { reconcile: (ctx: JobCtx) => reconcile(boundContext(ctx)) } : {}),
      ...(compensate ? { compensate: (ctx: JobCtx) => compensate(boundContext(ctx)) } : {}),
    }));
  }

  /** The preflight's facts: the preflight step's, or the provision step's where it checked a late-bound target. */
  function preflightFacts(ctx: Ctx): Record<string, Record<string, unknown>> | undefined {
    type Output = { facts?: Record<string, Record<string, unknown>> } | undefined;
    const provisioned = ctx.outputs['provision-target'] as { preflight?: Output } | undefined;
    return (ctx.outputs.preflight as Output)?.facts ?? provisioned?.preflight?.facts;
  }

  /** Per-strategy views on the step's checkpoint; concurrent saves are serialised. */
  function envs(ctx: Ctx, hosts: Hosts, strategies: MigrationStrategy[]): StrategyEnv[] {
    const state: Record<string, Record<string, unknown>> = { ...((ctx.checkpoint as any) ?? {}) };
    let saving = Promise.resolve();
    return strategies.map(strategy => ({
      jobId: ctx.job.id,
      params: ctx.job.params,
      source: hosts.source,
      target: hosts.target,
      signal: ctx.signal,
      checkpoint: { ...(state[strategy.name] ?? {}) },
      preflight: preflightFacts(ctx)?.[strategy.name],
      window: (ctx.outputs.quiesce as { window?: Record<string, Record<string, unknown>> } | undefined)?.window?.[strategy.name],
      finalSync: (ctx.outputs['final-sync'] as Record<string, Record<string, unknown>> | undefined)?.[strategy.name],
      ready: ready.forStrategy(ctx.job.id, strategy.name),
      saveCheckpoint: checkpoint => {
        state[strategy.name] = { ...(state[strategy.name] ?? {}), ...checkpoint };
        saving = saving.then(() => ctx.saveCheckpoint({ ...state }));
        return saving;
      },
      secret: async ref => {
        if (!deps.resolveSecret) throw new PermanentJobError(`Secret ${ref} cannot be resolved: no secret store is configured`);
        const value = await deps.resolveSecret(ref);
        ctx.registerSecret(value);
        return value;
      },
      log: (message, fields) => ctx.log(`${strategy.name}: ${message}`, fields),
      sleep: ms => ctx.sleep(ms),
      now: () => ctx.clock.now(),
    }));
  }

  /** Runs one phase of every strategy at once and collects their results by strategy name. */
  async function eachStrategy<T>(
    ctx: Ctx,
    hosts: Hosts,
    phase: (strategy: MigrationStrategy, env: StrategyEnv) => Promise<T>,
    options: { sequential?: boolean } = {},
  ): Promise<Record<string, T>> {
    const strategies = strategiesOf(ctx.job.params);
    const strategyEnvs = envs(ctx, hosts, strategies);
    const results: Record<string, T> = {};
    if (options.sequential) {
      for (const [index, strategy] of strategies.entries()) results[strategy.name] = await phase(strategy, strategyEnvs[index]);
    } else {
      // Every strategy settles before a failure is reported: a rollback must not overlap remote work still running.
      const settled = await Promise.allSettled(strategies.map((strategy, index) => phase(strategy, strategyEnvs[index])));
      const failure = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
      if (failure) throw failure.reason;
      strategies.forEach((strategy, index) => (results[strategy.name] = (settled[index] as PromiseFulfilledResult<T>).value));
    }
    return results;
  }

  /**
   * Runs `commands` in turn, each after its log event (a fenced write: a lost lease sends nothing); answers
   * when the first one was sent. With `inWindow` (the app's start at the cut-over, the downtime running) a
   * command readied at its gate goes out first and its event is written while it runs: the step's start,
   * fenced moments before, stands for the lease there, and the event's commit is off the window's path.
   */
  async function runCommands(
    ctx: Ctx,
    host: HostShell,
    commands: string[][],
    what: string,
    options: { readyAs?: string; inWindow?: boolean } = {},
  ): Promise<number | undefined> {
    let firstSentAt: number | undefined;
    for (const [index, command] of commands.entries()) {
      const line = `${what} on the ${host.role}: ${command.join(' ')}`;
      const started = options.readyAs ? ready.take(ctx.job.id, `${options.readyAs}:${index}`) : undefined;
      const logWhileRunning = started !== undefined && options.inWindow === true;
      if (!logWhileRunning) await ctx.log(line);
      firstSentAt ??= ctx.clock.now();
      if (!started) {
        await host.run(command, { signal: ctx.signal });
        continue;
      }
      const fired = started.fire('', ctx.signal);
      const [result] = await Promise.all([fired, logWhileRunning ? ctx.log(line) : undefined]);
      if (result.exitCode !== 0) throw new Error(`${command[0]} exited with ${result.exitCode} on the ${host.role}: ${result.stderr.trim()}`);
    }
    return firstSentAt;
  }

  /**
   * A strategy's QUIESCE_COMMAND, if one was readied: the app's quiesce commands and then, on the source
   * itself, the strategy's part of the window. The app's own ready commands are disarmed: it runs them.
   */
  function takeChainedQuiesce(ctx: Ctx, appCommandCount: number): { name: string; command: ReadyCommand } | undefined {
    for (const strategy of strategiesOf(ctx.job.params)) {
      const name = `${strategy.name}:${QUIESCE_COMMAND}`;
      const command = ready.take(ctx.job.id, name);
      if (!command) continue;
      for (let index = 0; index < appCommandCount; index++) ready.take(ctx.job.id, `app:quiesce:${index}`)?.disarm();
      return { name, command };
    }
    return undefined;
  }

  /**
   * Fires a chained quiesce and answers when it was sent, once the app's commands have all succeeded
   * (QUIESCED_LINE); the command runs on into the strategy's part and is kept for its final sync. A failing
   * app command ends it, and the step, before anything else ran.
   */
  async function quiesceThrough(ctx: Ctx, chained: { name: string; command: ReadyCommand }, commands: string[][]): Promise<number> {
    for (const command of commands) await ctx.log(`Quiescing on the source: ${command.join(' ')}`, { followedBy: chained.name });
    const sentAt = ctx.clock.now();
    let tellQuiesced!: () => void;
    const quiesced = new Promise<undefined>(resolve => (tellQuiesced = () => resolve(undefined)));
    const ended = chained.command.fire('', ctx.signal, watchLines(line => line === QUIESCED_LINE && (tellQuiesced(), true)));
    // Its end before the line was seen: a failed app command, unless the line is in what it printed.
    const endedFirst = await Promise.race([quiesced, ended]);
    if (endedFirst && !endedFirst.stdout.split('\n').includes(QUIESCED_LINE)) {
      throw new Error(`The app's quiesce on the source failed (exit ${endedFirst.exitCode}): ${endedFirst.stderr.trim()}`);
    }
    ended.catch(() => undefined);
    ready.keep(ctx.job.id, chained.name, chained.command);
    return sentAt;
  }

  /**
   * Both hosts' checks: each strategy's preflight (versions, paths, replication settings), free space on
   * the target for what the source holds, and the DNS record. Returns the facts the later steps read.
   */
  async function checkHosts(ctx: Ctx, hosts: Hosts) {
    const params = ctx.job.params;
    const facts = await eachStrategy(ctx, hosts, (strategy, env) => strategy.preflight(env), { sequential: true });
    const needs = new Map<string, { bytes: number; available: number }>();
    for (const strategy of strategiesOf(params)) {
      const [env] = envs(ctx, hosts, [strategy]);
      const size = await strategy.sourceBytes?.(env);
      if (!size) continue;
      const { availableBytes, mountPoint } = await freeSpace(hosts.target, size.targetPath, ctx.signal);
      const need = needs.get(mountPoint) ?? { bytes: 0, available: availableBytes };
      need.bytes += size.bytes;
      needs.set(mountPoint, need);
    }
    for (const [mountPoint, need] of needs) {
      if (need.available < need.bytes * params.minFreeSpaceRatio) {
        throw new PermanentJobError(
          `Target disk too small: ${mountPoint} has ${need.available} bytes free, the data needs ` +
            `${need.bytes} × ${params.minFreeSpaceRatio}`,
        );
      }
    }
    const dns = params.dns ? await checkDns(deps.dns, params.dns) : undefined;
    if (dns?.dnsCurrentTtl !== undefined && dns.dnsCurrentTtl > 300) {
      await ctx.log(`The DNS TTL is ${dns.dnsCurrentTtl} s: clients may reach the source that long after the cut-over`, {}, 'warn');
    }
    const space = Object.fromEntries([...needs].map(([mount, need]) => [mount, need]));
    await ctx.log('Preflight passed', { strategies: Object.keys(facts) });
    return { facts, space, dns };
  }

  /** Starts the app's commands for a later moment of the window, each held at its gate (readyCommands.ts). */
  function startCommands(ctx: Ctx, host: HostShell, commands: string[][], readyAs: string) {
    for (const [index, command] of commands.entries()) {
      if (!ready.hasRoom(ctx.job.id, host.role)) return;
      ready.keep(ctx.job.id, `${readyAs}:${index}`, startReady(host, gated(command), { gate: true, check: false }));
    }
  }

  return {
    closeSessions: () => {
      ready.disarmAll();
      return pool.releaseAll();
    },
    kind: MIGRATION_JOB_KIND,
    title: 'Migrate the instance to another host (zero data loss)',
    params: migrationJobParamsSchema,
    locks: job => {
      const { source, target, provision } = job.params;
      return [
        `entity:${job.entityRef}`,
        `host:${source.host}:${source.port}`,
        // A target made by this migration has no address yet: its guest is what no other job may take.
        isLateBound(target) ? `guest:${provision?.cluster}/${provision?.vmid}` : `host:${target.host}:${target.port}`,
      ];
    },
    retry: deps.retry,
    steps: [
      {
        name: 'preflight',
        title: 'Check hosts, versions, space, DNS',
        run: async ctx => {
          if (isLateBound(ctx.job.params.target)) {
            const dns = ctx.job.params.dns ? await checkDns(deps.dns, ctx.job.params.dns) : undefined;
            await ctx.log('The target guest is made by this migration: its checks run once it is provisioned and bound');
            return { deferred: true, dns };
          }
          const bound = withParams(ctx, bindTarget(ctx.job.params)!);
          return withHosts(bound, ['source', 'target'], hosts => checkHosts(bound, hosts));
        },
      },
      {
        name: 'provision-target',
        title: 'Provision the target (app stopped)',
        run: async ctx => {
          const params = ctx.job.params;
          const saved = (ctx.checkpoint ?? {}) as { guest?: { vmid?: number }; target?: TargetEndpoint };
          let guest: { vmid: number; node: string } | undefined;
          if (params.provision) {
            if (!deps.provisioner) throw new PermanentJobError('No Proxmox provisioner is configured');
            guest = await deps.provisioner.ensureTarget({
              jobId: ctx.job.id,
              provision: params.provision,
              checkpoint: saved.guest ?? {},
              saveCheckpoint: checkpoint => ctx.saveCheckpoint({ ...((ctx.checkpoint ?? {}) as object), guest: checkpoint }),
              signal: ctx.signal,
            });
            await ctx.log('Target guest ready', guest);
          }
          const late = isLateBound(params.target) ? params.target : undefined;
          let endpoint = saved.target;
          if (late && !endpoint) {
            if (!deps.binder || !guest || !params.provision) throw new PermanentJobError('No way to bind the new target guest is configured');
            endpoint = await deps.binder.bind({ cluster: params.provision.cluster, guest, target: late, signal: ctx.signal });
            // Pinned once: a rerun connects with this key and no other.
            await ctx.saveCheckpoint({ ...((ctx.checkpoint ?? {}) as object), target: endpoint });
            await ctx.log(
              `Trust on first use: the target guest at ${endpoint.host}:${endpoint.port} presented host key ` +
                `${endpoint.hostKeyFingerprint}; it is pinned for the rest of the migration`,
              { address: endpoint.address, hostKeyFingerprint: endpoint.hostKeyFingerprint },
              'warn',
            );
          }
          const bound = withParams(ctx, bindTarget(params, endpoint)!);
          const preflight = await withHosts(bound, ['source', 'target'], async hosts => {
            let checked: Awaited<ReturnType<typeof checkHosts>> | undefined;
            if (late) {
              await authorisePeerKey(hosts, bound.job.params.peer.identityFile, {
                registerSecret: ctx.registerSecret,
                signal: ctx.signal,
              });
              await ctx.log('The source may copy to the target with a key made for this migration');
              checked = await checkHosts(bound, hosts);
            }
            await runCommands(bound, hosts.target, appCommands(bound.job.params, 'quiesce'), 'Keeping the app stopped');
            await eachStrategy(bound, hosts, (strategy, env) => strategy.prepareTarget(env), { sequential: true });
            return checked;
          });
          return { guest, ...(endpoint ? { target: endpoint } : {}), ...(preflight ? { preflight } : {}) };
        },
        // The key pair made for the copy would keep the source's login to the target after a rollback too.
        compensate: async ctx => {
          const params = ctx.job.params;
          if (!params.peer.madeForMigration) return;
          const provisioned = { ...(ctx.checkpoint as object), ...(ctx.outputs['provision-target'] as object) } as { target?: TargetEndpoint };
          const bound = bindTarget(params, provisioned.target);
          // A target made by the migration gets its key once bound: unbound, neither host holds a half of it.
          if (!bound) return;
          await withHosts(
            withParams(ctx, bound),
            ['source', 'target'],
            async hosts => logRevocation(ctx, await revokePeerKey(hosts, params.peer.identityFile, { signal: ctx.signal })),
            { optional: ['source', 'target'] },
          );
        },
      },
      ...boundSteps([
        {
          name: 'initial-sync',
          title: 'Initial copy while the source serves',
          run: ctx =>
            withHosts(ctx, ['source', 'target'], async hosts => {
              const results = await eachStrategy(ctx, hosts, (strategy, env) => strategy.initialSync(env));
              await ctx.log('Initial sync done', results);
              return results;
            }),
          // The target must be fenced even when the source cannot be reached (its slot is then reported).
          compensate: ctx =>
            withHosts(
              ctx,
              ['source', 'target'],
              async hosts => {
                await eachStrategy(ctx, hosts, (strategy, env) => strategy.undoInitialSync(env));
                await ctx.log('Target fenced (standby stopped)');
              },
              { optional: ['source'] },
            ),
        },
        {
          name: 'catch-up',
          title: 'Catch up until the delta is small',
          run: ctx =>
            withHosts(ctx, ['source', 'target'], async hosts => {
              const { catchUp } = ctx.job.params;
              let underBudget = 0;
              for (let round = 1; round <= catchUp.maxRounds; round++) {
                const results = await eachStrategy(ctx, hosts, (strategy, env) => strategy.catchUp(env));
                const caughtUp = Object.values(results).every(result => result.caughtUp);
                underBudget = caughtUp ? underBudget + 1 : 0;
                await ctx.log(`Catch-up round ${round}`, { caughtUp, results });
                await ctx.progress({ done: underBudget, total: catchUp.roundsUnderBudget, message: `round ${round}` });
                if (underBudget >= catchUp.roundsUnderBudget) return { rounds: round, last: results };
              }
              throw new Error(`Not caught up after ${catchUp.maxRounds} rounds; the source changes faster than it copies`);
            }),
        },
      ]),
      {
        name: 'approve-cutover',
        title: 'Approve the cut-over (downtime starts)',
        approvalGate: true,
        timeoutMs: params => params.approvalTimeoutSeconds * 1000,
        timeoutOutcome: 'the source was never quiesced and keeps serving',
      },
      ...boundSteps([
        {
          name: 'quiesce',
          title: 'Quiesce the source app',
          run: ctx =>
            withHosts(ctx, ['source', 'target'], async hosts => {
              // Not yet downtime (the source still serves): both hosts connected, the app's stop (and its start on
              // the target, for the cut-over) waiting at their gates, each strategy readied.
              const quiesce = appCommands(ctx.job.params, 'quiesce');
              startCommands(ctx, hosts.source, quiesce, 'app:quiesce');
              startCommands(ctx, hosts.target, appCommands(ctx.job.params, 'unquiesce'), 'app:start');
              const prepared = await eachStrategy(ctx, hosts, async (strategy, env) => strategy.prepareWindow?.(env));
              const window = Object.fromEntries(Object.entries(prepared).filter(([, facts]) => facts !== undefined));
              // The window opens once the ready commands wait at their gates: else their processes and
              // connections start on the cores the window's own work needs.
              const commandsWaiting = await ready.allWaiting(ctx.job.id, READY_WAIT_MS);
              // The window (the downtime reported) starts when the app's stop is sent. A reading from before
              // it is kept first: a rerun after a crash, which cannot tell whether the stop went out, uses it.
              const saved = (ctx.checkpoint as { startedAt?: number } | undefined)?.startedAt;
              const beforeStop = saved ?? ctx.clock.now();
              if (saved === undefined) await ctx.saveCheckpoint({ startedAt: beforeStop });
              const chained = takeChainedQuiesce(ctx, quiesce.length);
              const stopSentAt = chained ? await quiesceThrough(ctx, chained, quiesce) : await runCommands(ctx, hosts.source, quiesce, 'Quiescing', { readyAs: 'app:quiesce' });
              const startedAt = saved ?? stopSentAt ?? beforeStop;
              const settle = settleSeconds(ctx.job.params);
              if (settle > 0) {
                await ctx.log(`Waiting ${settle} s for clients to settle`);
                await ctx.sleep(settle * 1000);
              }
              return { startedAt, window, commandsWaiting };
            }),
          // Unquiescing is a start of the app: harmless if the quiesce never ran. An unreachable source is
          // reported and the rest of the rollback (fencing the target) still runs.
          compensate: ctx =>
            withHosts(
              ctx,
              ['source'],
              async hosts => {
                try {
                  // What a strategy chained to the quiesce (its database's stop) first, then the app.
                  await eachStrategy(ctx, hosts, async (strategy, env) => strategy.undoQuiesce?.(env));
                  await runCommands(ctx, hosts.source, appCommands(ctx.job.params, 'unquiesce'), 'Unquiescing');
                } catch (error) {
                  if (!(error as Error).message.startsWith('The source host is unreachable')) throw error;
                  await ctx.log(`Could not unquiesce the source: ${(error as Error).message}`, {}, 'error');
                }
              },
              { optional: ['source'] },
            ),
        },
        {
          name: 'final-sync',
          title: 'Final sync and database switchover (source quiesced)',
          run: ctx =>
            withHosts(ctx, ['source', 'target'], async hosts => {
              const results = await eachStrategy(ctx, hosts, (strategy, env) => strategy.finalSync(env));
              ctx.logOutcome('Final sync done', results);
              return results;
            }),
          compensate: ctx =>
            withHosts(ctx, ['source', 'target'], async hosts => {
              await eachStrategy(ctx, hosts, (strategy, env) => strategy.undoFinalSync(env));
            }),
        },
        {
          name: 'verify',
          title: 'Verify the target equals the source',
          run: ctx =>
            withHosts(ctx, ['source', 'target'], async hosts => {
              const results = await eachStrategy(ctx, hosts, (strategy, env) => strategy.verify(env));
              ctx.logOutcome('Target verified equal to the source', results);
              return results;
            }),
        },
        {
          name: 'cut-over',
          title: 'Cut over: start the app on the target, point DNS at it',
          pointOfNoReturn: true,
          reconcile: async ctx => {
            const params = ctx.job.params;
            const dnsDone = params.dns ? await dnsPointsAtTarget(deps.dns, params.dns) : false;
            if (!dnsDone) return { done: false };
            const promoted = await withHosts(ctx, ['target'], async hosts =>
              Object.values(await eachStrategy(ctx, hosts, (strategy, env) => strategy.isCutOver(env))).every(Boolean),
            );
            return promoted ? { done: true, output: { reconciled: true } } : { done: false };
          },
          run: ctx =>
            withHosts(ctx, ['target'], async hosts => {
              const params = ctx.job.params;
              const verified = ctx.outputs.verify as Record<string, { promoted?: boolean }> | undefined;
              await eachStrategy(ctx, hosts, async (strategy, env) => {
                if (!verified?.[strategy.name]?.promoted) await strategy.cutOver(env);
              });
              await runCommands(ctx, hosts.target, appCommands(params, 'unquiesce'), 'Starting the app', { readyAs: 'app:start', inWindow: true });
              if (params.app.healthCommand) await hosts.target.run(params.app.healthCommand, { signal: ctx.signal });
              const servingAt = ctx.clock.now();
              if (params.dns) {
                await pointDnsAtTarget(deps.dns, params.dns);
                await ctx.log(`DNS ${params.dns.name}.${params.dns.zone} points at the target`, {
                  address: params.dns.targetAddress,
                });
              }
              const startedAt = (ctx.outputs.quiesce as { startedAt: number }).startedAt;
              const downtimeSeconds = (servingAt - startedAt) / 1000;
              await ctx.log('Cut over: the target serves', { downtimeSeconds });
              return { servingAt, downtimeSeconds };
            }),
        },
        {
          name: 'observe',
          title: 'Observe the target (source kept until decommission)',
          run: async ctx => {
            if (deps.relocator) {
              // Past the cut-over the target serves, whatever the observation finds: the record says so first.
              const provisioned = ctx.outputs['provision-target'] as { guest?: { vmid: number; node: string }; target?: TargetEndpoint } | undefined;
              await deps.relocator.moveToTarget(
                ctx.job.entityRef,
                ctx.job.params,
                provisioned?.guest && { ...provisioned.guest, pinnedOnFirstUse: provisioned.target !== undefined },
              );
              await ctx.log('The instance record points at the target');
            }
            return withHosts(ctx, ['source', 'target'], async hosts => {
              const params = ctx.job.params;
              // The host-to-host copy is over: its connection, the job's directory with the pinned key in it,
              // and a key pair made for it go before anything else can fail.
              await closeControlConnection(hosts.source, ctx.job.id, ctx.signal);
              if (params.peer.madeForMigration) await logRevocation(ctx, await revokePeerKey(hosts, params.peer.identityFile, { signal: ctx.signal }));
              await eachStrategy(ctx, hosts, async (strategy, env) =>
                strategy.afterCutOver?.(env).catch(error => ctx.log(`${strategy.name}: could not clean up on the target: ${(error as Error).message}`, {}, 'warn')),
              );
              const until = ctx.clock.now() + params.observeSeconds * 1000;
              let checks = 0;
              do {
                const health = await eachStrategy(ctx, hosts, (strategy, env) => strategy.healthy(env));
                const unhealthy = Object.entries(health).filter(([, ok]) => !ok).map(([name]) => name);
                if (params.app.healthCommand) {
                  const app = await hosts.target.run(params.app.healthCommand, { signal: ctx.signal, check: false });
                  if (app.exitCode !== 0) unhealthy.push('app');
                }
                if (unhealthy.length) throw new Error(`The target is unhealthy after the cut-over: ${unhealthy.join(', ')}`);
                checks++;
                if (ctx.clock.now() >= until) break;
                await ctx.sleep(Math.min(deps.observeIntervalMs ?? 2_000, Math.max(0, until - ctx.clock.now())));
              } while (ctx.clock.now() < until);
              await ctx.log('Migration complete; the source is kept until a decommission job', { checks });
              await releaseJob(ctx.job.id);
              return { checks, sourceKept: true };
            });
          },
        },
      ]),
    ],
  };
}

async function logRevocation(ctx: { log: JobCtx['log'] }, left: string[]): Promise<void> {
  if (left.length) await ctx.log(`The key pair made for the copy is not revoked everywhere; remove by hand: ${left.join('; ')}`, {}, 'warn');
  else await ctx.log('Revoked the key pair made for the copy: the source can no longer log in to the target');
}

function unreachable(role: keyof Hosts, message: string): HostShell {
  return {
    role,
    run: async () => {
      throw new Error(message);
    },
  };
}

async function unavailable(role: keyof Hosts): Promise<HostShell> {
  const refuse = async () => {
    throw new Error(`The ${role} host is not used in this step`);
  };
  return { role, run: refuse };
}

