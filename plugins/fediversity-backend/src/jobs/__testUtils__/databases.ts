import { TestDatabases } from '@backstage/backend-test-utils';
import knexFactory, { Knex } from 'knex';
import { applyMigrations } from '../migrations';
import { startTestPostgres, TestPostgres } from './postgres';

/**
 * The databases the job store must work on: SQLite (the default, one instance) and PostgreSQL
 * (several instances). `it.each`-style: run the same tests against both.
 */
export const DATABASE_IDS = ['SQLITE_3', 'POSTGRES'] as const;
export type DatabaseId = (typeof DATABASE_IDS)[number];

export class JobTestDatabases {
  private readonly sqlite = TestDatabases.create({ ids: ['SQLITE_3'] });
  private postgres?: TestPostgres;
  private readonly clients: Knex[] = [];

  /** A migrated, empty database. */
  async init(id: DatabaseId): Promise<Knex> {
    const knex = id === 'SQLITE_3' ? await this.sqlite.init('SQLITE_3') : await this.newPostgresClient();
    await applyMigrations(knex);
    return knex;
  }

  /** A fresh PostgreSQL database's URL (for a second pool or a child process). */
  async postgresUrl(): Promise<string> {
    this.postgres ??= await startTestPostgres();
    return (await this.postgres.createDatabase()).url;
  }

  /** A knex pool on an existing database, closed at stop(). */
  connect(url: string, poolMax = 10): Knex {
    const client = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: poolMax } });
    this.clients.push(client);
    return client;
  }

  async stop(): Promise<void> {
    for (const client of this.clients) await client.destroy();
    await this.postgres?.stop();
  }

  private async newPostgresClient(): Promise<Knex> {
    return this.connect(await this.postgresUrl());
  }
}
