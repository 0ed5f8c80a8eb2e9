import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  knownHostsLine,
  PeerEndpoint,
  SshConnection,
  startTestSshd,
  TestSshd,
} from '@fediversity/plugin-fediversity-node';

/**
 * Two "hosts" for replication tests: SSH connections to one real sshd on loopback (the source and the target
 * are the same machine, reached over SSH as they would be in production), and the peer endpoint with which
 * the source host reaches the target (pinned host key in a known_hosts file, the test's client key).
 */
export interface TestSshHosts {
  sshd: TestSshd;
  source: SshConnection;
  target: SshConnection;
  peer: PeerEndpoint;
  stop(): Promise<void>;
}

export async function startTestSshHosts(): Promise<TestSshHosts | string> {
  const sshd = await startTestSshd();
  if (typeof sshd === 'string') return sshd;
  const connect = () =>
    SshConnection.connect({
      host: sshd.host,
      port: sshd.port,
      username: sshd.username,
      hostKey: sshd.hostKeyFingerprint,
      privateKey: sshd.clientPrivateKey,
    });
  const knownHostsFile = join(sshd.dir, 'known_hosts');
  await writeFile(knownHostsFile, knownHostsLine(sshd.host, sshd.port, sshd.hostPublicKey), { mode: 0o600 });
  const source = await connect();
  const target = await connect();
  return {
    sshd,
    source,
    target,
    peer: {
      host: sshd.host,
      port: sshd.port,
      username: sshd.username,
      knownHostsFile,
      identityFile: sshd.clientPrivateKeyPath,
    },
    async stop() {
      source.close();
      target.close();
      await sshd.stop();
    },
  };
}
