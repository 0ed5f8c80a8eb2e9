import { posix } from 'node:path';
import { libpqEnvironment, libpqKeywords, libpqSettings } from '@fediversity/plugin-fediversity-node';
import { PermanentJobError } from '../jobs/errors';
import { assertLsn, postgresClusters, slotName } from './postgres';
import { ReplicationPassfile } from './replicationPassfile';
import { checkSourceConnection } from './sourceConnection';
import { CatchUpRound, MigrationStrategy, StrategyEnv } from './strategy';

const WAIT_MS = 120_000;
const FIRST_POLL_MS = 5;
const MAX_POLL_MS = 100;

/**
 * PostgreSQL across major versions (replication.md §1): the schema is copied first (`pg_dump --schema-only`
 * run on the target against the source), then a publication on the source and a subscription on the target
 * copy and stream the rows. At the final sync (app quiesced) the subscriber must have confirmed the source's
 * current WAL position, sequences are set from the source (they are not replicated), and the verification
 * compares row counts and ordered hashes of every table. The cut-over drops the subscription; the source
 * keeps running, unused, until decommission.
 */
export class PostgresLogicalStrategy implements MigrationStrategy {
  readonly name: string;

  constructor(dataClassName: string) {
    this.name = `postgres:${dataClassName}`;
  }

  private clusters(env: StrategyEnv) {
    return postgresClusters(env, 'PostgreSQL logical migration');
  }

  private names(env: StrategyEnv, database: string) {
    const base = slotName(env.jobId);
    return { publication: `${base}_pub`, subscription: `${base}_${database}`.slice(0, 63) };
  }

  async preflight(env: StrategyEnv) {
    const { source, target } = this.clusters(env);
    const [walLevel, version] = (await source.query(`SELECT current_setting('wal_level'), current_setting('server_version_num')`, env.signal)).split('|');
    if (walLevel !== 'logical') {
      throw new PermanentJobError(`Logical replication needs wal_level=logical on the source (it is ${walLevel}; changing it needs a restart)`);
    }
    for (const database of env.params.postgresDatabases) {
      const withoutKey = await source.query(
        `SELECT string_agg(c.oid::regclass::text, ', ') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace ` +
          `WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') ` +
          `AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)`,
        env.signal,
        database,
      );
      if (withoutKey) throw new PermanentJobError(`Tables without a primary key cannot be verified or updated logically: ${withoutKey}`);
      await checkSourceConnection(env, { source, target }, database);
    }
    return { postgres: { method: 'logical', sourceMajor: Math.floor(Number(version) / 10_000), targetMajor: await target.majorVersion(env.signal) } };
  }

  async sourceBytes(env: StrategyEnv) {
    const { source, target } = this.clusters(env);
    const bytes = Number(await source.query('SELECT sum(pg_database_size(oid)) FROM pg_database', env.signal));
    return { bytes, targetPath: target.pg.dataDir };
  }

  /** The target is a running cluster of its own (initialised here when absent) with empty app databases. */
  async prepareTarget(env: StrategyEnv) {
    const { target } = this.clusters(env);
    const status = await target.status(env.signal);
    if (status === 'absent') {
      const dataDir = target.pg.dataDir;
      await env.target.run(['rm', '-rf', '--', dataDir], { signal: env.signal });
      await env.target.run(
        env.params.target.username === target.pg.osUser
          ? ['install', '-d', '-m', '0700', '--', dataDir]
          : ['install', '-d', '-m', '0700', '-o', target.pg.osUser, '--', dataDir],
        { signal: env.signal },
      );
      await target.program('initdb', ['-D', dataDir, '-A', 'trust', '--data-checksums', '--wal-segsize=1'], env.signal);
    }
    if ((await target.status(env.signal)) !== 'running') await target.start(env.signal);
    for (const database of env.params.postgresDatabases) {
      const exists = await target.query(`SELECT count(*) FROM pg_database WHERE datname = '${database}'`, env.signal);
      if (exists === '0') await target.query(`CREATE DATABASE ${database} TEMPLATE template0`, env.signal);
    }
  }

  async initialSync(env: StrategyEnv) {
    const { source, target } = this.clusters(env);
    const connection = libpqSettings(env.params.replicationTls, await ReplicationPassfile.of(env, target).write(source));
    for (const database of env.params.postgresDatabases) {
      const { publication, subscription } = this.names(env, database);
      const subscribed = await target.query(`SELECT count(*) FROM pg_subscription WHERE subname = '${subscription}'`, env.signal, database);
      if (subscribed === '0') {
        // Schema first: logical replication copies rows only.
        const schemaFile = posix.join(posix.dirname(target.pg.dataDir), `${subscription}.schema.sql`);
        await target.program('pg_dump', ['-h', source.pg.address, '-p', String(source.pg.port), '-U', env.params.replicationUser, '--no-password', '--schema-only', '--no-publications', '--no-subscriptions', '-f', schemaFile, database], env.signal, { environment: libpqEnvironment(connection) });
        await target.program('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', target.pg.socketDir, '-p', String(target.pg.port), '-d', database, '-1', '-f', schemaFile], env.signal);
        await env.target.run(['rm', '-f', '--', schemaFile], { signal: env.signal });
        const published = await source.query(`SELECT count(*) FROM pg_publication WHERE pubname = '${publication}'`, env.signal, database);
        if (published === '0') await source.query(`CREATE PUBLICATION ${publication} FOR ALL TABLES`, env.signal, database);
        // Every value is allow-listed (no quote or space): plain conninfo words.
        const conninfo = [
          `host=${source.pg.address}`,
          `port=${source.pg.port}`,
          `user=${env.params.replicationUser}`,
          `dbname=${database}`,
          ...libpqKeywords(connection),
        ].join(' ');
        await target.query(`CREATE SUBSCRIPTION ${subscription} CONNECTION '${conninfo}' PUBLICATION ${publication}`, env.signal, database);
      }
      await this.waitUntil(
        env,
        async () => (await target.query(`SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'`, env.signal, database)) === '0',
        `the initial copy of ${database}`,
      );
    }
    await env.log('Subscribed; the initial copy is done');
    return { lagBytes: await this.lagBytes(env) };
  }

  async catchUp(env: StrategyEnv): Promise<CatchUpRound> {
    const lagBytes = await this.lagBytes(env);
    return { seconds: 0, lagBytes, caughtUp: lagBytes <= env.params.catchUp.maxLagBytes };
  }

  async finalSync(env: StrategyEnv) {
    const { source, target } = this.clusters(env);
    const current = assertLsn(await source.query('SELECT pg_current_wal_lsn()', env.signal), 'WAL position');
    await Promise.all(
      env.params.postgresDatabases.map(async database => {
        const { subscription } = this.names(env, database);
        await this.waitUntil(
          env,
          async () =>
            (await source.query(`SELECT coalesce(bool_and(confirmed_flush_lsn >= '${current}'), false) FROM pg_replication_slots WHERE slot_name = '${subscription}'`, env.signal)) === 't',
          `the subscriber of ${database} to confirm ${current}`,
        );
        // Sequences are not replicated: copy their positions, with a margin like a promote's prefetch.
        const sequences = await source.query(
          `SELECT string_agg(format('SELECT setval(%L, %s, true);', schemaname || '.' || sequencename, coalesce(last_value, 0) + 32), ' ') FROM pg_sequences WHERE last_value IS NOT NULL`,
          env.signal,
          database,
        );
        if (sequences) await target.query(sequences, env.signal, database);
      }),
    );
    return { confirmedLsn: current };
  }

  /** Every table's row count and ordered hash on both hosts, all tables at once (one listing per database). */
  async verify(env: StrategyEnv) {
    const { source, target } = this.clusters(env);
    const tables: Record<string, string> = {};
    for (const database of env.params.postgresDatabases) {
      const listing = await source.query(
        `SELECT coalesce(json_agg(json_build_array(format('%I.%I', n.nspname, c.relname), (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY array_position(i.indkey, a.attnum)) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = c.oid AND i.indisprimary))), '[]') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')`,
        env.signal,
        database,
      );
      const keyed = JSON.parse(listing) as Array<[string, string | null]>;
      const counts = await Promise.all(
        keyed.map(async ([table, key]) => {
          if (!key) throw new PermanentJobError(`Verification failed: ${database}.${table} has no primary key to order its rows by`);
          const hashSql = `SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY ${key})), '') FROM ${table} t`;
          const [fromSource, fromTarget] = await Promise.all([source.query(hashSql, env.signal, database), target.query(hashSql, env.signal, database)]);
          if (fromSource !== fromTarget) throw new PermanentJobError(`Verification failed: ${database}.${table} differs (${fromSource} vs ${fromTarget})`);
          return fromSource.split(':')[0];
        }),
      );
      keyed.forEach(([table], index) => (tables[`${database}.${table}`] = counts[index]));
    }
    return { rowsPerTable: tables };
  }

  async cutOver(env: StrategyEnv) {
    const { target } = this.clusters(env);
    for (const database of env.params.postgresDatabases) {
      const { subscription } = this.names(env, database);
      const exists = await target.query(`SELECT count(*) FROM pg_subscription WHERE subname = '${subscription}'`, env.signal, database);
      if (exists !== '0') {
        // Detach from the source's slot so the drop does not need the source (the slot goes at decommission).
        await target.statements(
          [`ALTER SUBSCRIPTION ${subscription} DISABLE`, `ALTER SUBSCRIPTION ${subscription} SET (slot_name = NONE)`, `DROP SUBSCRIPTION ${subscription}`],
          env.signal,
          database,
        );
      }
    }
  }

  async isCutOver(env: StrategyEnv) {
    const { target } = this.clusters(env);
    for (const database of env.params.postgresDatabases) {
      const { subscription } = this.names(env, database);
      if ((await target.query(`SELECT count(*) FROM pg_subscription WHERE subname = '${subscription}'`, env.signal, database)) !== '0') return false;
    }
    return true;
  }

  async healthy(env: StrategyEnv) {
    const { target } = this.clusters(env);
    return (await target.query('SELECT txid_current() > 0', env.signal).catch(() => '')) === 't';
  }

  /** The source kept running (logical replication needs no stop). */
  async undoFinalSync() {}

  async undoInitialSync(env: StrategyEnv) {
    const { source, target } = this.clusters(env);
    for (const database of env.params.postgresDatabases) {
      const { subscription, publication } = this.names(env, database);
      if ((await target.status(env.signal)) === 'running') {
        const exists = await target.query(`SELECT count(*) FROM pg_subscription WHERE subname = '${subscription}'`, env.signal, database).catch(() => '0');
        if (exists !== '0') {
          await target.query(`ALTER SUBSCRIPTION ${subscription} DISABLE`, env.signal, database);
          await target.query(`ALTER SUBSCRIPTION ${subscription} SET (slot_name = NONE)`, env.signal, database);
          await target.query(`DROP SUBSCRIPTION ${subscription}`, env.signal, database);
        }
      }
      try {
        await source.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '${subscription}' AND NOT active`, env.signal);
        await source.query(`DROP PUBLICATION IF EXISTS ${publication}`, env.signal, database);
      } catch (error) {
        await env.log(`Could not drop the publication/slot on the source: ${(error as Error).message}`);
      }
    }
    if ((await target.status(env.signal)) === 'running') await target.stop('fast', env.signal);
    await ReplicationPassfile.of(env, target).remove();
  }

  /** The cut-over dropped the subscriptions: nothing connects with the passfile any more. */
  async afterCutOver(env: StrategyEnv) {
    await ReplicationPassfile.of(env, this.clusters(env).target).remove();
  }

  private async lagBytes(env: StrategyEnv): Promise<number> {
    const { source } = this.clusters(env);
    const names = env.params.postgresDatabases.map(database => `'${this.names(env, database).subscription}'`).join(', ');
    const lag = await source.query(
      `SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)), 0) FROM pg_replication_slots WHERE slot_name IN (${names})`,
      env.signal,
    );
    return Number(lag);
  }

  /** Checks at once, then again after 5 ms, 10 ms, … up to every 100 ms. */
  private async waitUntil(env: StrategyEnv, condition: () => Promise<boolean>, what: string) {
    const deadline = env.now() + WAIT_MS;
    let pause = FIRST_POLL_MS;
    while (!(await condition())) {
      if (env.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
      await env.sleep(pause);
      pause = Math.min(pause * 2, MAX_POLL_MS);
    }
  }
}
