import type { ReplicationSchedule, ScheduleStore } from '../replication/ScheduleStore';
import { MigrationHost } from './params';

type Endpoint = Pick<MigrationHost, 'host' | 'port' | 'username'>;
interface HostSpec extends Endpoint {
  hostPublicKey: string;
  peerIdentityFile?: string;
}

const sameEndpoint = (a: Endpoint, b: Endpoint) => a.host === b.host && a.port === b.port && a.username === b.username;

/** Where a schedule reads from: rsync pushes from `source.host`, a PostgreSQL standby streams from `primary.host`. */
function readsFrom(schedule: ReplicationSchedule): HostSpec | undefined {
  const params = schedule.params as { source?: { host?: HostSpec }; primary?: { host?: HostSpec } };
  return params.source?.host ?? params.primary?.host;
}

/**
 * The key files the instance's file replication pushes with, on its current guest: a migration copies them
 * with the identity files, so the schedules keep working from the new guest.
 */
export async function replicationKeyFiles(schedules: Pick<ScheduleStore, 'list'>, entityRef: string): Promise<string[]> {
  const files = (await schedules.list({ entityRefs: [entityRef] }))
    .filter(schedule => schedule.strategy === 'rsync')
    .map(schedule => readsFrom(schedule)?.peerIdentityFile)
    .filter((file): file is string => Boolean(file));
  return [...new Set(files)];
}

export interface FollowOutcome {
  repointed: string[];
  paused: string[];
}

/**
 * After a cut-over the instance serves from `to`; schedules still reading from `from` (the stopped source)
 * would record fresh-looking recovery points of stale data. File schedules are pointed at the new guest (their
 * key file moved with the identity files); the others (a standby of the old primary) are paused, to be set up
 * again from the new primary. Idempotent: a schedule already reading from `to` is left alone.
 */
export async function followInstance(
  schedules: Pick<ScheduleStore, 'list' | 'update'>,
  entityRef: string,
  from: Endpoint,
  to: MigrationHost,
  now: number,
): Promise<FollowOutcome> {
  const outcome: FollowOutcome = { repointed: [], paused: [] };
  for (const schedule of await schedules.list({ entityRefs: [entityRef] })) {
    const host = readsFrom(schedule);
    if (!host || !sameEndpoint(host, from)) continue;
    if (schedule.strategy === 'rsync') {
      const params = schedule.params as { source: { host: HostSpec } };
      const moved: HostSpec = {
        host: to.host,
        port: to.port,
        username: to.username,
        hostPublicKey: to.hostPublicKey.split(' ').slice(0, 2).join(' '),
        ...(host.peerIdentityFile ? { peerIdentityFile: host.peerIdentityFile } : {}),
      };
      await schedules.update(schedule.id, { params: { ...params, source: { ...params.source, host: moved } } }, now);
      outcome.repointed.push(schedule.dataClass);
    } else if (schedule.enabled) {
      await schedules.update(schedule.id, { enabled: false }, now);
      outcome.paused.push(schedule.dataClass);
    }
  }
  return outcome;
}
