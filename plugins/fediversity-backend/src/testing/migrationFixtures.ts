import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import knexFactory, { Knex } from 'knex';
import { DnsProvider, DnsRecordSet, DnsRecordSetKey, normalizeRecordName } from '@fediversity/plugin-fediversity-node';
import { HostConnector, sshHostConnector } from '../migration/hosts';
import { MigrationParams } from '../migration/params';
import { FlagDirectory } from './flagDirectory';
import { FILES_PATH, IDENTITY_PATH, MigrationHosts, TestHost } from './migrationHosts';

export const PORTAL_KEY_REF = 'migration-test-portal-key';
export const DNS_ZONE = 'example.test';

/** How the portal reaches the test hosts: its one key, named PORTAL_KEY_REF in the params. */
export function portalConnector(hosts: MigrationHosts): HostConnector {
  return sshHostConnector(async ref => {
    if (ref !== PORTAL_KEY_REF) throw new Error(`unknown secret ${ref}`);
    return hosts.portalPrivateKey;
  });
}

/** Job params for migrating the test app from the harness's source to its target (unparsed input). */
export function migrationParams(hosts: MigrationHosts, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const host = (h: TestHost) => ({
    host: h.address,
    port: h.sshPort,
    username: hosts.username,
    hostKey: h.hostKeyFingerprint,
    hostPublicKey: h.hostPublicKey,
    privateKey: { secretRef: PORTAL_KEY_REF },
    pathPrefix: h.root,
    postgres: { dataDir: h.pg.dataDir, port: h.pg.port, socketDir: h.pg.socketDir, address: h.address, osUser: hosts.osUser },
  });
  const quiesce = [[hosts.appctl, 'stop']];
  const unquiesce = [[hosts.appctl, 'start']];
  const params: Partial<MigrationParams> & Record<string, unknown> = {
    app: {
      name: 'testapp',
      dataClasses: [
        { name: 'database', kind: 'database', engine: 'postgresql', replication: 'postgresql-streaming', quiesce, unquiesce },
        { name: 'media', kind: 'directories', directories: [FILES_PATH], replication: 'rsync-quiesced', quiesce, unquiesce },
      ],
      identityPaths: [IDENTITY_PATH],
    } as any,
    source: host(hosts.source) as any,
    target: host(hosts.target) as any,
    peer: { host: hosts.target.address, identityFile: hosts.peerIdentityFile, madeForMigration: false },
    replicationUser: hosts.osUser,
    dns: { zone: DNS_ZONE, name: 'app', type: 'A', ttl: 60, targetAddress: '192.0.2.20' },
    catchUp: { passBudgetSeconds: 10, roundsUnderBudget: 2, maxRounds: 20, maxLagBytes: 16 * 1024 * 1024 },
    observeSeconds: 1,
    ...overrides,
  };
  return params;
}

/** The app's data on the source: files, the identity key and table rows. */
export function seedSourceData(hosts: MigrationHosts, options: { files: number; fileBytes: number; rows: number }) {
  const base = join(hosts.source.root, FILES_PATH);
  for (let i = 0; i < options.files; i++) {
    const path = join(base, `d${String(i % 20).padStart(2, '0')}`, `f${i}.bin`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, randomBytes(options.fileBytes));
  }
  mkdirSync(base, { recursive: true });
  const identity = join(hosts.source.root, IDENTITY_PATH);
  mkdirSync(dirname(identity), { recursive: true });
  writeFileSync(identity, randomBytes(64), { mode: 0o600 });
  if (options.rows > 0) {
    hosts.psql(
      hosts.source,
      `INSERT INTO items (name, n) SELECT md5(g::text), g FROM generate_series(1, ${options.rows}) g; CHECKPOINT;`,
    );
  }
}

/** An in-memory DNS provider (the real ones are tested against named and pdns in the node package). */
export class MemoryDnsProvider implements DnsProvider {
  readonly records = new Map<string, DnsRecordSet>();
  upserts = 0;

  async upsertRecords(zone: string, recordSets: DnsRecordSet[]) {
    for (const set of recordSets) {
      const name = normalizeRecordName(zone, set.name);
      this.records.set(`${name} ${set.type}`, { ...set, name });
      this.upserts++;
    }
  }

  async deleteRecords(zone: string, keys: DnsRecordSetKey[]) {
    for (const key of keys) this.records.delete(`${normalizeRecordName(zone, key.name)} ${key.type}`);
  }

  async listRecords(zone: string, name: string) {
    const wanted = normalizeRecordName(zone, name);
    return [...this.records.values()].filter(set => set.name === wanted);
  }
}

/**
 * The app at work: writes, rewrites (same size, so size+mtime cannot tell) and deletes files and commits
 * rows on the source, and remembers every write that was acknowledged (fsync'd / committed). It honours the
 * quiesce flag that `appctl stop` raises, as a real app's shutdown would.
 */
/** What the app needs to know of the hosts: where it runs (another process can rebuild this from JSON). */
export type AppHosts = { source: Pick<TestHost, 'root' | 'pg'>; osUser: string };

/** The writes an app acknowledged: files by name (content hash, null once deleted), rows by id. */
export interface AcknowledgedWrites {
  readonly files: ReadonlyMap<string, string | null>;
  readonly rows: ReadonlySet<number>;
}

export class AppWriter implements AcknowledgedWrites {
  readonly files = new Map<string, string | null>();
  readonly rows = new Set<number>();
  private running = false;
  private loop?: Promise<void>;
  private client?: Knex;
  private counter = 0;
  private flags?: FlagDirectory;
  errors: string[] = [];

  constructor(
    private readonly hosts: AppHosts,
    private readonly intervalMs = 20,
  ) {}

  private state(name: string) {
    return join(this.hosts.source.root, 'run/app', name);
  }

  async start() {
    this.flags = new FlagDirectory(this.state(''));
    writeFileSync(this.state('writer-running'), '');
    await this.connect();
    this.running = true;
    this.loop = this.run();
  }

  async stop() {
    this.running = false;
    await this.loop;
    rmSync(this.state('writer-running'), { force: true });
    this.flags?.close();
    await this.disconnect();
  }

  private async connect() {
    const { source } = this.hosts;
    this.client = knexFactory({
      client: 'pg',
      connection: { host: source.pg.socketDir, port: source.pg.port, user: this.hosts.osUser, database: 'postgres' },
      pool: { min: 1, max: 1 },
    });
    await this.client.raw('SELECT 1');
  }

  private async disconnect() {
    const client = this.client;
    this.client = undefined;
    await client?.destroy().catch(() => undefined);
  }

  get acknowledged() {
    return this.files.size + this.rows.size;
  }

  private async run() {
    const base = join(this.hosts.source.root, FILES_PATH, 'writer');
    mkdirSync(base, { recursive: true });
    const flags = this.flags!;
    while (this.running) {
      if (flags.has('quiesced')) {
        if (!flags.has('writer-stopped')) {
          // A stopped app holds no database connection (its processes ended), so the database's stop
          // has no session of it to end.
          await this.disconnect();
          writeFileSync(this.state('writer-stopped'), '');
        }
        // Until `appctl start` clears the flags (or stop() ends the loop).
        await flags.nextChange({ timeoutMs: 100 });
        continue;
      }
      const n = ++this.counter;
      try {
        // Started again (a rollback unquiesced the source): it connects, as an app's start does.
        if (!this.client) await this.connect();
        const name = `writer/w${n % 50}.dat`;
        const content = randomBytes(4096);
        if (n % 11 === 0 && this.files.get(name)) {
          rmSync(join(base, `w${n % 50}.dat`));
          this.files.set(name, null);
        } else {
          const fd = openSync(join(base, `w${n % 50}.dat`), 'w');
          writeSync(fd, content);
          fsyncSync(fd);
          closeSync(fd);
          this.files.set(name, createHash('sha256').update(content).digest('hex'));
        }
        await this.client!.raw('INSERT INTO writes (id, payload) VALUES (?, ?)', [n, content.toString('hex').slice(0, 64)]);
        this.rows.add(n);
      } catch (error) {
        this.errors.push(String(error));
      }
      await this.pauseUnlessQuiesced(this.intervalMs);
    }
  }

  /**
   * The pause between writes, cut short by the quiesce: the app stops as soon as it is told, like a process
   * handling SIGTERM, not at its next write.
   */
  private async pauseUnlessQuiesced(ms: number) {
    await this.flags!.waitFor('quiesced', { timeoutMs: ms });
  }
}

/** Acknowledged writes missing on a host (files by content, rows by id). */
export function lostWrites(hosts: MigrationHosts, host: TestHost, writer: AcknowledgedWrites): string[] {
  const lost: string[] = [];
  const base = join(host.root, FILES_PATH);
  for (const [name, hash] of writer.files) {
    const path = join(base, name);
    if (hash === null) {
      if (existsSync(path)) lost.push(`${name} (deleted on the source, still on the target)`);
    } else if (!existsSync(path) || createHash('sha256').update(readFileSync(path)).digest('hex') !== hash) {
      lost.push(name);
    }
  }
  if (writer.rows.size) {
    const present = new Set(
      hosts
        .psql(host, 'SELECT id FROM writes')
        .split('\n')
        .filter(Boolean)
        .map(Number),
    );
    for (const id of writer.rows) if (!present.has(id)) lost.push(`row ${id}`);
  }
  return lost;
}

/** A DNS provider whose zone lives in a JSON file, so it survives the SIGKILLed engine processes. */
export class FileDnsProvider implements DnsProvider {
  constructor(private readonly file: string) {}

  private read(): Record<string, DnsRecordSet> {
    return existsSync(this.file) ? JSON.parse(readFileSync(this.file, 'utf8')) : {};
  }

  async upsertRecords(zone: string, recordSets: DnsRecordSet[]) {
    const records = this.read();
    for (const set of recordSets) {
      const name = normalizeRecordName(zone, set.name);
      records[`${name} ${set.type}`] = { ...set, name };
    }
    writeFileSync(`${this.file}.new`, JSON.stringify(records));
    renameSync(`${this.file}.new`, this.file);
  }

  async deleteRecords(zone: string, keys: DnsRecordSetKey[]) {
    const records = this.read();
    for (const key of keys) delete records[`${normalizeRecordName(zone, key.name)} ${key.type}`];
    writeFileSync(this.file, JSON.stringify(records));
  }

  async listRecords(zone: string, name: string) {
    const wanted = normalizeRecordName(zone, name);
    return Object.values(this.read()).filter(set => set.name === wanted);
  }
}
