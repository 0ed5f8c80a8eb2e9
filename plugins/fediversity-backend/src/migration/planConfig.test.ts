import { ConfigReader } from '@backstage/config';
import { JsonObject } from '@backstage/types';
import { readMigrationPlanConfig } from './planConfig';

const read = (postgres: JsonObject) => readMigrationPlanConfig(new ConfigReader({ fediversity: { migration: { postgres } } }));

describe('readMigrationPlanConfig', () => {
  it('streams as postgres without password or TLS requirements unless told', () => {
    expect(read({}).replication).toEqual({ user: 'postgres', passwordRef: undefined, tls: { mode: 'prefer' } });
  });

  it('reads the replication role, its password’s secret name and TLS', () => {
    const config = read({ replicationUser: 'replicator', replicationPasswordSecret: 'pg-replication', replicationTls: { mode: 'verify-full', rootCert: '/etc/ca.crt' } });
    expect(config.replication).toEqual({ user: 'replicator', passwordRef: 'pg-replication', tls: { mode: 'verify-full', rootCert: '/etc/ca.crt' } });
  });

  it('refuses TLS settings a migration would refuse, at once', () => {
    expect(() => read({ replicationTls: { mode: 'verify-full' } })).toThrow(/replicationTls: verify-ca and verify-full need rootCert/);
    expect(() => read({ replicationTls: { mode: 'disable' } })).toThrow(/replicationTls/);
  });
});
