import { HostConnector } from './hosts';
import { MigrationParams } from './params';
import { PostgresOnHost, slotName } from './postgres';

/** The slots and publications a migration job may have left on its source, by the strategies' naming. */
export function replicationLeftovers(migrationJobId: string, databases: readonly string[]) {
  const base = slotName(migrationJobId);
  return {
    // The physical standby's slot, and one logical slot per database (named like its subscription).
    slots: [base, ...databases.map(database => `${base}_${database}`.slice(0, 63))],
    publication: `${base}_pub`,
    databases: [...databases],
  };
}

export type DropOutcome =
  | { skipped: string }
  | { droppedSlots: string[]; droppedPublications: string[]; activeSlots: string[] };

/**
 * Drops what the migration left on the source's PostgreSQL over SSH (pinned host key, argv, allow-listed names):
 * inactive slots first (a leftover slot makes the source keep WAL without bound), then the publication in each
 * migrated database. A stopped source database is left as it is: its slots go with the guest, and starting the
 * old primary after the cut-over would only risk clients writing to it.
 */
export async function dropReplicationLeftovers(options: {
  migrationJobId: string;
  params: Pick<MigrationParams, 'source' | 'postgresDatabases'>;
  connect: HostConnector;
  signal: AbortSignal;
}): Promise<DropOutcome> {
  const { params, signal } = options;
  const pg = params.source.postgres;
  if (!pg) return { skipped: 'the source has no PostgreSQL' };
  const shell = await options.connect('source', params.source, signal);
  try {
    const source = new PostgresOnHost(shell, params.source, pg);
    const status = await source.status(signal);
    if (status !== 'running') return { skipped: `the source database is ${status}; its slots go with the guest` };
    const names = replicationLeftovers(options.migrationJobId, params.postgresDatabases);
    const list = names.slots.map(slot => `'${slot}'`).join(', ');
    const dropped = await source.query(
      `SELECT coalesce(string_agg(slot_name, ','), '') FROM (SELECT slot_name, pg_drop_replication_slot(slot_name) ` +
        `FROM pg_replication_slots WHERE slot_name IN (${list}) AND NOT active) AS dropped`,
      signal,
    );
    const active = await source.query(
      `SELECT coalesce(string_agg(slot_name, ','), '') FROM pg_replication_slots WHERE slot_name IN (${list})`,
      signal,
    );
    const droppedPublications: string[] = [];
    for (const database of names.databases) {
      const exists = await source.query(`SELECT count(*) FROM pg_publication WHERE pubname = '${names.publication}'`, signal, database);
      if (exists === '0') continue;
      await source.query(`DROP PUBLICATION IF EXISTS ${names.publication}`, signal, database);
      droppedPublications.push(`${database}.${names.publication}`);
    }
    return { droppedSlots: splitList(dropped), droppedPublications, activeSlots: splitList(active) };
  } finally {
    await shell.close();
  }
}

function splitList(text: string): string[] {
  return text ? text.split(',') : [];
}
