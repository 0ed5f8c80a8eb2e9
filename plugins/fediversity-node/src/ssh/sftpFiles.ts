import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { SFTPWrapper } from 'ssh2';

/*
 * SFTP helpers on an open session. Writes go to a temporary name next to the target and are renamed
 * over it, so a reader (or a crash) sees either the old or the new file, never half of one.
 */

const CHUNK = 32 * 1024;
/** Writes kept in flight at once; one at a time would cost a round trip per 32 KiB. */
const WRITES_IN_FLIGHT = 32;

function call<T>(fn: (cb: (err: Error | undefined | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
}

function isSftpStatus(err: unknown, code: number): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

const SFTP_NO_SUCH_FILE = 2;

export async function sftpMkdirs(sftp: SFTPWrapper, dir: string): Promise<void> {
  const parts = dir.split('/').filter(Boolean);
  let parent = '';
  for (const part of parts) {
    const current = `${parent}/${part}`;
    try {
      await call<unknown>(cb => sftp.stat(current, cb));
    } catch (err) {
      if (!isSftpStatus(err, SFTP_NO_SUCH_FILE)) throw err;
      await call<void>(cb => sftp.mkdir(current, { mode: 0o755 }, err2 => cb(err2, undefined)));
    }
    parent = current;
  }
}

async function renameOver(sftp: SFTPWrapper, from: string, to: string): Promise<void> {
  try {
    // posix-rename@openssh.com replaces the target atomically; plain SFTP v3 rename refuses to.
    await call<void>(cb => sftp.ext_openssh_rename(from, to, err => cb(err, undefined)));
    return;
  } catch (err) {
    if (!(err instanceof Error) || !/does not support/i.test(err.message)) throw err;
  }
  try {
    await call<void>(cb => sftp.rename(from, to, err => cb(err, undefined)));
  } catch {
    // Servers without posix-rename: replace non-atomically rather than fail the deploy.
    await call<void>(cb => sftp.unlink(to, err => cb(err, undefined))).catch(() => undefined);
    await call<void>(cb => sftp.rename(from, to, err => cb(err, undefined)));
  }
}

async function writePipelined(sftp: SFTPWrapper, handle: Buffer, content: Buffer): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < content.length) {
      const offset = next;
      next += CHUNK;
      const length = Math.min(CHUNK, content.length - offset);
      await call<void>(cb => sftp.write(handle, content, offset, length, offset, err => cb(err, undefined)));
    }
  };
  await Promise.all(Array.from({ length: WRITES_IN_FLIGHT }, worker));
}

export interface SftpWriteOptions {
  /** File mode, applied explicitly after writing so the remote umask cannot widen or narrow it. */
  mode: number;
  /** Create missing parent directories (mode 0755). */
  mkdirs?: boolean;
}

export async function sftpWriteFileAtomic(
  sftp: SFTPWrapper,
  remotePath: string,
  content: Buffer,
  options: SftpWriteOptions,
): Promise<void> {
  const dir = posix.dirname(remotePath);
  if (options.mkdirs) await sftpMkdirs(sftp, dir);
  const temp = posix.join(dir, `.${posix.basename(remotePath)}.upload-${randomBytes(6).toString('hex')}`);
  const handle = await call<Buffer>(cb => sftp.open(temp, 'w', { mode: 0o600 }, cb));
  let closed = false;
  try {
    await writePipelined(sftp, handle, content);
    await call<void>(cb => sftp.fchmod(handle, options.mode, err => cb(err, undefined)));
    await call<void>(cb => sftp.ext_openssh_fsync(handle, err => cb(err, undefined))).catch(() => undefined);
    await call<void>(cb => sftp.close(handle, err => cb(err, undefined)));
    closed = true;
    await renameOver(sftp, temp, remotePath);
  } catch (err) {
    if (!closed) await call<void>(cb => sftp.close(handle, e => cb(e, undefined))).catch(() => undefined);
    await call<void>(cb => sftp.unlink(temp, e => cb(e, undefined))).catch(() => undefined);
    throw err;
  }
}

export async function sftpReadFile(sftp: SFTPWrapper, remotePath: string): Promise<Buffer> {
  return call<Buffer>(cb => sftp.readFile(remotePath, cb));
}
