import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hostKeyMatchesPin, knownHostsLine, parsePublicKeyLine, pinFingerprint, sha256Fingerprint } from './hostKeys';
import { generateSshKeyPair } from './keys';

const run = promisify(execFile);

describe('host keys', () => {
  const key = generateSshKeyPair('k');
  const other = generateSshKeyPair('o');

  it('computes the same fingerprint as ssh-keygen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fp-'));
    try {
      await writeFile(join(dir, 'k.pub'), `${key.publicKey}\n`);
      const { stdout } = await run('ssh-keygen', ['-lf', join(dir, 'k.pub'), '-E', 'sha256']);
      expect(stdout.split(' ')[1]).toBe(sha256Fingerprint(parsePublicKeyLine(key.publicKey).blob));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('matches a pin given as key line or fingerprint, and nothing else', () => {
    const blob = parsePublicKeyLine(key.publicKey).blob;
    expect(hostKeyMatchesPin(blob, key.publicKey)).toBe(true);
    expect(hostKeyMatchesPin(blob, pinFingerprint(key.publicKey))).toBe(true);
    expect(hostKeyMatchesPin(blob, other.publicKey)).toBe(false);
    expect(hostKeyMatchesPin(blob, pinFingerprint(other.publicKey))).toBe(false);
    expect(() => pinFingerprint('')).toThrow(/required/);
    expect(() => pinFingerprint(`ssh-rsa ${blob.toString('base64')}`)).toThrow(/blob says ssh-ed25519/);
  });

  it('writes known_hosts lines with the port form ssh expects', () => {
    expect(knownHostsLine('10.0.0.5', 22, key.publicKey)).toMatch(/^10\.0\.0\.5 ssh-ed25519 \S+\n$/);
    expect(knownHostsLine('127.0.0.1', 2222, key.publicKey)).toMatch(/^\[127\.0\.0\.1\]:2222 ssh-ed25519 /);
    expect(() => knownHostsLine('evil host', 22, key.publicKey)).toThrow(/Invalid hostname/);
  });
});
