import { posix } from 'node:path';
import { InputError } from '@backstage/errors';
import type { DataClass } from '@fediversity/plugin-fediversity-common';
import { ReplicationTarget } from './replicationTarget';

/** The guest an instance runs on, as replication runs reach it (the pinned key from fediversity:guest:awaitReachable). */
export interface ReplicationSource {
  host: string;
  port: number;
  username: string;
  /** `ssh-ed25519 AAAA…` (a trailing comment is dropped). */
  hostKey: string;
  /** The guest's address as the target sees it: a PostgreSQL standby connects to it. */
  address?: string;
}

export interface PlannedSchedule {
  dataClass: string;
  strategy: 'rsync' | 'postgres';
  params: Record<string, unknown>;
  /** Why the strategy differs from the app definition's, when it does. */
  note?: string;
}

export interface SkippedDataClass {
  dataClass: string;
  reason: string;
}

/*
 * PostgreSQL as nix/modules/common.nix sets it up on NixOS guests: the major is pinned by the
 * `fediversity.postgresql.major` option (default 16, nix/modules/options.nix), the data directory is NixOS's
 * default for it, and the binaries are on the system profile.
 */
const NIXOS_POSTGRESQL = {
  bin: '/run/current-system/sw/bin',
  osUser: 'postgres',
  dataDir: '/var/lib/postgresql/16',
  port: 5432,
  socketDir: '/run/postgresql',
};

const INSTANCE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/**
 * Which replication schedule each data class of an app definition gets at provisioning, towards one target:
 * files (directories, SQLite databases) → quiesce + rsync into generations; PostgreSQL streaming → a standby on
 * the target. What cannot be scheduled without more facts (an S3 bucket, a ZFS dataset on the node) or is never
 * copied continuously (dumps, rebuilt caches) is listed with the reason instead.
 */
export function planReplication(options: {
  instance: string;
  vmid: number;
  dataClasses: DataClass[];
  source: ReplicationSource;
  target: ReplicationTarget;
}): { schedules: PlannedSchedule[]; skipped: SkippedDataClass[] } {
  const { instance, source, target } = options;
  if (!INSTANCE_NAME.test(instance)) throw new InputError(`Invalid instance name ${JSON.stringify(instance)}`);
  const sourceHost = {
    host: source.host,
    port: source.port,
    username: source.username,
    hostPublicKey: publicKeyOnly(source.hostKey),
  };
  const targetHost = { host: target.host, port: target.port, username: target.username, hostPublicKey: target.hostPublicKey };
  const schedules: PlannedSchedule[] = [];
  const skipped: SkippedDataClass[] = [];

  const rsync = (dataClass: DataClass, path: string, note?: string) =>
    schedules.push({
      dataClass: dataClass.name,
      strategy: 'rsync',
      params: {
        source: { host: sourceHost, path },
        target: { host: targetHost, root: posix.join(target.root, instance, dataClass.name) },
        quiesce: dataClass.quiesce ?? [],
        unquiesce: dataClass.unquiesce ?? [],
        livePass: true,
      },
      ...(note ? { note } : {}),
    });

  for (const dataClass of options.dataClasses) {
    const skip = (reason: string) => skipped.push({ dataClass: dataClass.name, reason });
    switch (dataClass.replication) {
      case 'rsync-quiesced':
      case 'zfs-send': {
        const paths = copiedDirectories(dataClass);
        if (paths.length !== 1) {
          skip(`${dataClass.replication} of ${paths.length} directories: a schedule copies one directory`);
          break;
        }
        rsync(
          dataClass,
          paths[0],
          dataClass.replication === 'zfs-send'
            ? 'replicated with quiesce + rsync: zfs send needs the guest volume’s dataset on its node; a ZFS schedule can replace this one'
            : undefined,
        );
        break;
      }
      case 'postgresql-streaming': {
        if (!target.postgres) {
          skip('the replication target has no PostgreSQL settings (replicationTarget.postgres) for a standby');
          break;
        }
        if (!source.address) {
          skip('the guest’s address is unknown, and the standby connects to it');
          break;
        }
        schedules.push({
          dataClass: dataClass.name,
          strategy: 'postgres',
          params: {
            primary: { host: sourceHost, ...NIXOS_POSTGRESQL },
            primaryAddress: source.address,
            standby: {
              host: targetHost,
              bin: target.postgres.bin,
              osUser: target.postgres.osUser,
              dataDir: posix.join(target.postgres.dataRoot, instance),
              port: target.postgres.basePort + (options.vmid % 10_000),
              socketDir: target.postgres.socketDir,
            },
            replicationUser: target.postgres.replicationUser,
            ...(target.postgres.replicationPasswordRef ? { replicationPasswordRef: target.postgres.replicationPasswordRef } : {}),
            replicationTls: target.postgres.replicationTls,
            slot: `fdv_${instance.replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63),
          },
        });
        break;
      }
      case 's3-mirror':
        skip('the instance’s bucket is not known at provisioning; add a blob schedule with its bucket on the Replication tab');
        break;
      case 'dump-restore':
        skip('copied by dump and restore at migration, not continuously');
        break;
      case 'mariadb-replication':
        skip('the backend has no MariaDB replication strategy yet');
        break;
      case 'rebuild':
        skip('rebuilt on the target, never copied');
        break;
      default:
        skip(`no strategy for ${dataClass.replication}`);
    }
  }
  return { schedules, skipped };
}

/** Directories listed for a bare guest (no app definition): each one a data class copied live with rsync. */
export function directoryDataClasses(directories: string[]): DataClass[] {
  return directories.map((directory, index) => ({
    name: index === 0 ? 'files' : `files-${index + 1}`,
    kind: 'directories',
    directories: [directory],
    replication: 'rsync-quiesced',
  }));
}

/** What a file-level copy of a data class copies: its directories, or the directory of a database's files. */
function copiedDirectories(dataClass: DataClass): string[] {
  if (dataClass.kind === 'directories') return dataClass.directories;
  if (dataClass.kind === 'database' && dataClass.path) return [posix.dirname(dataClass.path)];
  return [];
}

function publicKeyOnly(line: string): string {
  return line.trim().split(/\s+/).slice(0, 2).join(' ');
}

/** The plan with the key file the source pushes file replicas with (PostgreSQL standbys pull, so they need none). */
export function withPeerIdentityFile(schedules: PlannedSchedule[], peerIdentityFile: string): PlannedSchedule[] {
  return schedules.map(schedule => {
    if (schedule.strategy !== 'rsync') return schedule;
    const source = schedule.params.source as { host: Record<string, unknown>; path: string };
    return { ...schedule, params: { ...schedule.params, source: { ...source, host: { ...source.host, peerIdentityFile } } } };
  });
}
