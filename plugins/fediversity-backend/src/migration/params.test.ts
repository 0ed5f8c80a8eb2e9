import { generateSshKeyPair } from '@fediversity/plugin-fediversity-node';
import { migrationParamsSchema } from './params';

const host = (name: string, postgres?: Record<string, unknown>) => ({
  host: `${name}.example`,
  username: 'root',
  hostKey: 'SHA256:c291cmNlLWtleQ',
  hostPublicKey: generateSshKeyPair(name).publicKey,
  privateKey: { secretRef: name },
  ...(postgres ? { postgres } : {}),
});
const cluster = { dataDir: '/var/lib/postgresql/15', port: 5432, socketDir: '/run/postgresql' };
const app = {
  name: 'testapp',
  dataClasses: [{ name: 'media', kind: 'directories', directories: ['/var/lib/app'], replication: 'rsync-quiesced', quiesce: [['systemctl', 'stop', 'app']], unquiesce: [['systemctl', 'start', 'app']] }],
};

describe('migrationParamsSchema', () => {
  it('reaches a cluster at its host’s address unless told otherwise (a loopback default would stream from the target itself)', () => {
    const params = migrationParamsSchema.parse({
      app,
      source: host('source', cluster),
      target: host('target', { ...cluster, address: '10.0.0.3' }),
      peer: { identityFile: '/root/.ssh/migration_ed25519' },
    });
    expect(params.source.postgres?.address).toBe('source.example');
    expect(params.target.postgres?.address).toBe('10.0.0.3');
  });

  it('leaves a host without a cluster without one', () => {
    const params = migrationParamsSchema.parse({ app, source: host('source'), target: host('target'), peer: { identityFile: '/root/.ssh/migration_ed25519' } });
    expect(params.source.postgres).toBeUndefined();
    expect('postgres' in params.source).toBe(false);
  });

  it('takes the replication password by reference only, and TLS that verifies only with a CA to verify against', () => {
    const base = { app, source: host('source', cluster), target: host('target', cluster), peer: { identityFile: '/root/.ssh/migration_ed25519' } };
    const parsed = migrationParamsSchema.parse({ ...base, replicationPassword: { secretRef: 'pg-replication' } });
    expect(parsed.replicationPassword).toEqual({ secretRef: 'pg-replication' });
    expect(parsed.replicationTls).toEqual({ mode: 'prefer' });
    expect(() => migrationParamsSchema.parse({ ...base, replicationPassword: 'hunter22' })).toThrow();
    expect(() => migrationParamsSchema.parse({ ...base, replicationTls: { mode: 'verify-full' } })).toThrow(/need rootCert/);
    expect(() => migrationParamsSchema.parse({ ...base, replicationTls: { mode: 'disable' } })).toThrow();
    expect(() => migrationParamsSchema.parse({ ...base, replicationTls: { mode: 'require', rootCert: "/etc/ca.crt' host=evil" } })).toThrow();
    expect(migrationParamsSchema.parse({ ...base, replicationTls: { mode: 'verify-full', rootCert: '/etc/fediversity/source-ca.crt' } }).replicationTls).toEqual({
      mode: 'verify-full',
      rootCert: '/etc/fediversity/source-ca.crt',
    });
  });
});
