import { connectionEnvironment, connectionKeywords, sourceConnection } from './sourceConnection';
import { MigrationParams } from './params';

const params = (replicationTls: MigrationParams['replicationTls']) => ({ replicationTls }) as MigrationParams;

describe('sourceConnection', () => {
  it('gives client programs and subscriptions the same passfile and TLS settings', () => {
    const connection = sourceConnection(params({ mode: 'verify-full', rootCert: '/etc/fediversity/source-ca.crt' }), '/var/lib/postgresql/.fediversity_ab.pgpass');
    expect(connectionEnvironment(connection)).toEqual([
      'PGPASSFILE=/var/lib/postgresql/.fediversity_ab.pgpass',
      'PGSSLMODE=verify-full',
      'PGSSLROOTCERT=/etc/fediversity/source-ca.crt',
    ]);
    expect(connectionKeywords(connection)).toEqual([
      'passfile=/var/lib/postgresql/.fediversity_ab.pgpass',
      'sslmode=verify-full',
      'sslrootcert=/etc/fediversity/source-ca.crt',
    ]);
  });

  it('names libpq’s default TLS mode and nothing else where the job sets neither', () => {
    const connection = sourceConnection(params({ mode: 'prefer' }), undefined);
    expect(connectionEnvironment(connection)).toEqual(['PGSSLMODE=prefer']);
    expect(connectionKeywords(connection)).toEqual(['sslmode=prefer']);
  });
});
