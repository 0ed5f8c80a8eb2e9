import {
  blobScheduleSchema,
  HostSpec,
  postgresScheduleSchema,
  rsyncScheduleSchema,
  zfsScheduleSchema,
} from '@fediversity/plugin-fediversity-common';
import { PermanentJobError } from '../jobs/errors';
import { StepContext } from '../jobs/types';
import { replicateBlobs, S3Location } from './blob';
import { CommandRunner, localRunner } from './commandRunner';
import { ConnectedHost, HostConnector, trustPeer } from './hosts';
import { ensureStandby, measureStandbyLag, PgCluster } from './postgres';
import { replicateFiles } from './rsync';
import { ReplicationSchedule } from './ScheduleStore';
import { replicateZfs } from './zfs';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface ReplicationExecutorOptions {
  connect: HostConnector;
  /** Resolves a bucket's credentials reference from configuration. */
  s3Credentials(ref: string): S3Credentials;
  /** Resolves a replication role's password reference (`replicationPasswordRef`) from configuration. */
  postgresPassword?(ref: string): string;
}

/** What a run established: the recovery point and what identifies the copy. */
export interface ReplicationOutcome {
  consistentAt: number;
  detail: Record<string, unknown>;
}

type Recorder = (outcome: ReplicationOutcome) => Promise<void>;

/**
 * Runs one replication of a schedule with the strategy it names. `record` is called with the new recovery point
 * once the copy is verified and before anything old is pruned.
 */
export class ReplicationExecutor {
  constructor(private readonly options: ReplicationExecutorOptions) {}

  async run(schedule: ReplicationSchedule, ctx: StepContext<any>, record: Recorder): Promise<ReplicationOutcome> {
    const opened: ConnectedHost[] = [];
    const connect = async (host: HostSpec) => {
      const connected = await this.options.connect(host, ctx.signal);
      opened.push(connected);
      return connected.runner;
    };
    const log = (message: string, fields?: Record<string, unknown>, level?: 'info' | 'warn') => ctx.log(message, fields, level);
    try {
      switch (schedule.strategy) {
        case 'zfs':
          return await this.zfs(schedule, ctx, connect, record, log);
        case 'rsync':
          return await this.rsync(schedule, ctx, connect, record, log);
        case 'postgres':
          return await this.postgres(schedule, ctx, connect, record);
        case 'blob':
          return await this.blob(schedule, ctx, connect, record, log);
        default:
          throw new PermanentJobError(`Unknown replication strategy ${schedule.strategy}`);
      }
    } finally {
      for (const host of opened) host.close();
    }
  }

  private async zfs(schedule: ReplicationSchedule, ctx: StepContext<any>, connect: (h: HostSpec) => Promise<CommandRunner>, record: Recorder, log: any) {
    const params = zfsScheduleSchema.parse(schedule.params);
    const source = await connect(params.source.host);
    const target = await connect(params.target.host);
    const { peer, cleanup } = await trustPeer({ runner: source, spec: params.source.host }, params.target.host, ctx.job.id, ctx.signal);
    try {
      const saved = ctx.checkpoint as { pendingSnapshot?: string } | undefined;
      let outcome: ReplicationOutcome | undefined;
      await replicateZfs({
        source,
        target,
        sourceDataset: params.source.dataset,
        targetDataset: params.target.dataset,
        peer,
        snapshotPrefix: `fedi_${schedule.id.slice(0, 8)}`,
        keepSnapshots: params.keepSnapshots,
        now: () => ctx.clock.now(),
        signal: ctx.signal,
        pendingSnapshot: saved?.pendingSnapshot,
        savePendingSnapshot: snapshot => ctx.saveCheckpoint({ pendingSnapshot: snapshot }),
        recordCommonPoint: async point => {
          outcome = { consistentAt: point.takenAt, detail: { snapshot: point.snapshot, guid: point.guid } };
          await record(outcome);
        },
        log,
      });
      return outcome!;
    } finally {
      await cleanup();
    }
  }

  private async rsync(schedule: ReplicationSchedule, ctx: StepContext<any>, connect: (h: HostSpec) => Promise<CommandRunner>, record: Recorder, log: any) {
    const params = rsyncScheduleSchema.parse(schedule.params);
    const source = await connect(params.source.host);
    const target = await connect(params.target.host);
    const { peer, cleanup } = await trustPeer({ runner: source, spec: params.source.host }, params.target.host, ctx.job.id, ctx.signal);
    try {
      const result = await replicateFiles({
        source,
        sourcePath: params.source.path,
        target,
        targetRoot: params.target.root,
        peer,
        quiesce: params.quiesce,
        unquiesce: params.unquiesce,
        livePass: params.livePass,
        checksum: params.checksum,
        keepGenerations: params.keepGenerations,
        now: () => ctx.clock.now(),
        signal: ctx.signal,
        log,
      });
      // The generation is current (committed) before old ones are removed; record it as the recovery point.
      const outcome = {
        consistentAt: result.consistentAt,
        detail: { generation: result.generation, quiescedMs: result.quiescedMs, transferredBytes: result.transferredBytes },
      };
      await record(outcome);
      return outcome;
    } finally {
      await cleanup();
    }
  }

  private async postgres(schedule: ReplicationSchedule, ctx: StepContext<any>, connect: (h: HostSpec) => Promise<CommandRunner>, record: Recorder) {
    const params = postgresScheduleSchema.parse(schedule.params);
    const cluster = async (spec: typeof params.primary): Promise<PgCluster> => ({
      runner: await connect(spec.host),
      bin: spec.bin,
      osUser: spec.osUser,
      dataDir: spec.dataDir,
      port: spec.port,
      socketDir: spec.socketDir,
    });
    const primary = await cluster(params.primary);
    const standby = await cluster(params.standby);
    const password = params.replicationPasswordRef ? this.postgresPassword(params.replicationPasswordRef) : undefined;
    if (password !== undefined) ctx.registerSecret(password);
    const state = await ensureStandby(
      standby,
      { host: params.primaryAddress, port: params.primary.port, user: params.replicationUser, slot: params.slot, password, tls: params.replicationTls, cluster: primary },
      ctx.signal,
    );
    if (state !== 'running') await ctx.log(`Standby ${state}`);
    const lag = await measureStandbyLag(primary, standby, () => ctx.clock.now(), ctx.signal);
    const outcome = {
      consistentAt: lag.recoveryPointAt,
      detail: { replayLsn: lag.replayLsn, primaryLsn: lag.primaryLsn, bytesBehind: lag.bytesBehind },
    };
    await record(outcome);
    return outcome;
  }

  private postgresPassword(ref: string): string {
    if (!this.options.postgresPassword) throw new PermanentJobError(`No password ${ref}: fediversity.replication.postgresPasswords is not read`);
    return this.options.postgresPassword(ref);
  }

  private async blob(schedule: ReplicationSchedule, ctx: StepContext<any>, connect: (h: HostSpec) => Promise<CommandRunner>, record: Recorder, log: any) {
    const params = blobScheduleSchema.parse(schedule.params);
    const location = (bucket: typeof params.source): S3Location => {
      const credentials = this.options.s3Credentials(bucket.credentialsRef);
      ctx.registerSecret(credentials.secretAccessKey);
      ctx.registerSecret(credentials.accessKeyId);
      const { credentialsRef: _ref, ...rest } = bucket;
      return { ...rest, ...credentials };
    };
    const runner = params.runner ? await connect(params.runner) : localRunner;
    const result = await replicateBlobs({
      runner,
      source: location(params.source),
      target: location(params.target),
      now: () => ctx.clock.now(),
      signal: ctx.signal,
      log,
    });
    const outcome = { consistentAt: result.consistentAt, detail: { objects: result.objects, bytes: result.bytes } };
    await record(outcome);
    return outcome;
  }
}
