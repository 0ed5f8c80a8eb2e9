import { Client } from 'ssh2';
import { describeHostKey, type HostPublicKey } from './hostKeys';
import { assertHostname, assertPort } from './identifiers';

export interface EnrollHostKeyOptions {
  host: string;
  port: number;
  timeoutMs?: number;
}

/**
 * Fetches the key a host presents, like ssh-keyscan, without authenticating or trusting it.
 * The caller shows the fingerprint to an operator and stores the key as the pin once confirmed:
 * trust on first use happens only through this explicit step.
 */
export async function enrollHostKey(options: EnrollHostKeyOptions): Promise<HostPublicKey> {
  assertHostname(options.host, 'SSH host');
  assertPort(options.port, 'SSH port');
  const client = new Client();
  return new Promise<HostPublicKey>((resolve, reject) => {
    let key: Buffer | undefined;
    const finish = () => {
      client.end();
      if (key) resolve(describeHostKey(key));
      else reject(new Error(`Could not fetch the host key of ${options.host}:${options.port}`));
    };
    client.on('error', err => {
      if (key) finish();
      else {
        client.end();
        reject(new Error(`Could not fetch the host key of ${options.host}:${options.port}: ${err.message}`));
      }
    });
    client.connect({
      host: options.host,
      port: options.port,
      username: 'host-key-enrolment',
      readyTimeout: options.timeoutMs ?? 10_000,
      hostVerifier: (presented: Buffer) => {
        key = presented;
        // Refusing here ends the handshake before any authentication is attempted.
        return false;
      },
    });
  });
}
