import { createHash } from 'node:crypto';
import { InputError } from '@backstage/errors';
import { assertHostname, assertPort } from './identifiers';

/**
 * A pinned host key: either the OpenSSH public key line (`ssh-ed25519 AAAA… [comment]`), compared
 * blob for blob, or its SHA256 fingerprint (`SHA256:…`, as `ssh-keygen -lf key.pub -E sha256` prints).
 */
export type HostKeyPin = string;

export interface HostPublicKey {
  /** Key algorithm as named inside the key blob, e.g. `ssh-ed25519`. */
  algorithm: string;
  /** `algorithm base64` — the form to store and show, and to write to known_hosts. */
  publicKey: string;
  /** `SHA256:…` without padding, identical to OpenSSH's output. */
  fingerprint: string;
}

export function sha256Fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The algorithm name is the first length-prefixed string of an SSH public key blob. */
export function keyBlobAlgorithm(keyBlob: Buffer): string {
  if (keyBlob.length < 4) throw new InputError('SSH key blob is too short');
  const length = keyBlob.readUInt32BE(0);
  if (length === 0 || length > 64 || keyBlob.length < 4 + length) {
    throw new InputError('SSH key blob is malformed');
  }
  return keyBlob.subarray(4, 4 + length).toString('latin1');
}

export function describeHostKey(keyBlob: Buffer): HostPublicKey {
  const algorithm = keyBlobAlgorithm(keyBlob);
  return {
    algorithm,
    publicKey: `${algorithm} ${keyBlob.toString('base64')}`,
    fingerprint: sha256Fingerprint(keyBlob),
  };
}

/** Parses `algorithm base64 [comment]` and checks that the blob says the same algorithm. */
export function parsePublicKeyLine(line: string): { algorithm: string; blob: Buffer } {
  const match = /^\s*([a-z0-9@.-]+)\s+([A-Za-z0-9+/]+={0,2})(?:\s.*)?$/.exec(line);
  if (!match) throw new InputError('Not an OpenSSH public key line');
  const blob = Buffer.from(match[2], 'base64');
  if (keyBlobAlgorithm(blob) !== match[1]) {
    throw new InputError(`Public key says ${match[1]} but its blob says ${keyBlobAlgorithm(blob)}`);
  }
  return { algorithm: match[1], blob };
}

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** Validates a pin and returns the fingerprint it stands for (for messages). */
export function pinFingerprint(pin: HostKeyPin): string {
  if (typeof pin !== 'string' || pin.trim() === '') {
    throw new InputError('A pinned host key is required (no trust on first use)');
  }
  const trimmed = pin.trim();
  if (FINGERPRINT.test(trimmed)) return trimmed;
  return sha256Fingerprint(parsePublicKeyLine(trimmed).blob);
}

export function hostKeyMatchesPin(keyBlob: Buffer, pin: HostKeyPin): boolean {
  const trimmed = pin.trim();
  if (FINGERPRINT.test(trimmed)) {
    return sha256Fingerprint(keyBlob) === trimmed;
  }
  return parsePublicKeyLine(trimmed).blob.equals(keyBlob);
}

/** One known_hosts line, for the ssh CLI run on a source host (`UserKnownHostsFile=`). */
export function knownHostsLine(host: string, port: number, publicKey: string): string {
  assertHostname(host);
  assertPort(port);
  const { algorithm, blob } = parsePublicKeyLine(publicKey);
  const hostPattern = port === 22 ? host : `[${host}]:${port}`;
  return `${hostPattern} ${algorithm} ${blob.toString('base64')}\n`;
}
