import { open, type FileHandle, lstat, mkdir, readdir, rename, rm, rmdir, chmod, utimes, truncate } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { utils, type Attributes, type SFTPWrapper } from 'ssh2';
import type { DemoGuest } from './DemoGuest';

const { STATUS_CODE, flagsToString } = utils.sftp;

type OpenEntry = { kind: 'file'; file: FileHandle } | { kind: 'dir'; entries: string[] | undefined; dir: string };

function toAttrs(info: Stats): Attributes {
  return {
    mode: info.mode,
    uid: info.uid,
    gid: info.gid,
    size: info.size,
    atime: Math.floor(info.atimeMs / 1000),
    mtime: Math.floor(info.mtimeMs / 1000),
  };
}

function statusFor(err: unknown): number {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return STATUS_CODE.NO_SUCH_FILE;
    case 'EACCES':
    case 'EPERM':
      return STATUS_CODE.PERMISSION_DENIED;
    default:
      return (err as Error).name === 'NotAllowedError' ? STATUS_CODE.PERMISSION_DENIED : STATUS_CODE.FAILURE;
  }
}

function longname(name: string, info: Stats): string {
  const type = info.isDirectory() ? 'd' : '-';
  const perms = [6, 3, 0]
    .map(shift => {
      const bits = (info.mode >> shift) & 7;
      return `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${bits & 1 ? 'x' : '-'}`;
    })
    .join('');
  return `${type}${perms} 1 root root ${info.size} ${new Date(info.mtimeMs).toISOString().slice(0, 16)} ${name}`;
}

/**
 * Serves SFTP on one channel from the guest's root directory. Symlinks are neither created
 * (SYMLINK is unsupported) nor followed out of the guest (every path goes through resolvePath).
 * RENAME replaces an existing target atomically, like posix-rename@openssh.com.
 */
export function serveGuestSftp(sftp: SFTPWrapper, guest: DemoGuest): void {
  const handles = new Map<string, OpenEntry>();
  let nextHandle = 0;
  const newHandle = (entry: OpenEntry): Buffer => {
    const handle = Buffer.alloc(4);
    handle.writeUInt32BE(nextHandle++);
    handles.set(handle.toString('hex'), entry);
    return handle;
  };
  const entryOf = (handle: Buffer) => handles.get(handle.toString('hex'));

  /** Runs an operation, answering its errors with an SFTP status. */
  const handle = (reqId: number, op: () => Promise<void>) => {
    op().catch(err => sftp.status(reqId, statusFor(err), (err as Error).message));
  };
  const applyAttrs = async (path: string, attrs: Attributes) => {
    if (attrs.mode !== undefined) await chmod(path, attrs.mode & 0o7777);
    if (attrs.size !== undefined) await truncate(path, attrs.size);
    if (attrs.atime !== undefined && attrs.mtime !== undefined) await utimes(path, attrs.atime, attrs.mtime);
  };

  sftp.on('OPEN', (reqId, filename, flags, attrs) =>
    handle(reqId, async () => {
      const mode = flagsToString(flags);
      if (!mode) throw new Error('unsupported open flags');
      const path = await guest.resolvePath(filename);
      const file = await open(path, mode, attrs?.mode !== undefined ? attrs.mode & 0o7777 : 0o644);
      sftp.handle(reqId, newHandle({ kind: 'file', file }));
    }),
  );
  sftp.on('READ', (reqId, h, offset, length) =>
    handle(reqId, async () => {
      const entry = entryOf(h);
      if (entry?.kind !== 'file') {
        sftp.status(reqId, STATUS_CODE.FAILURE, 'bad handle');
        return;
      }
      const buffer = Buffer.alloc(Math.min(length, 256 * 1024));
      const { bytesRead } = await entry.file.read(buffer, 0, buffer.length, offset);
      if (bytesRead === 0) sftp.status(reqId, STATUS_CODE.EOF);
      else sftp.data(reqId, buffer.subarray(0, bytesRead));
    }),
  );
  sftp.on('WRITE', (reqId, h, offset, data) =>
    handle(reqId, async () => {
      const entry = entryOf(h);
      if (entry?.kind !== 'file') {
        sftp.status(reqId, STATUS_CODE.FAILURE, 'bad handle');
        return;
      }
      await entry.file.write(data, 0, data.length, offset);
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('FSTAT', (reqId, h) =>
    handle(reqId, async () => {
      const entry = entryOf(h);
      if (entry?.kind !== 'file') {
        sftp.status(reqId, STATUS_CODE.FAILURE, 'bad handle');
        return;
      }
      sftp.attrs(reqId, toAttrs(await entry.file.stat()));
    }),
  );
  sftp.on('FSETSTAT', (reqId, h, attrs) =>
    handle(reqId, async () => {
      const entry = entryOf(h);
      if (entry?.kind !== 'file') {
        sftp.status(reqId, STATUS_CODE.FAILURE, 'bad handle');
        return;
      }
      if (attrs.mode !== undefined) await entry.file.chmod(attrs.mode & 0o7777);
      if (attrs.size !== undefined) await entry.file.truncate(attrs.size);
      if (attrs.atime !== undefined && attrs.mtime !== undefined) await entry.file.utimes(attrs.atime, attrs.mtime);
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('CLOSE', (reqId, h) =>
    handle(reqId, async () => {
      const entry = entryOf(h);
      handles.delete(h.toString('hex'));
      if (!entry) {
        sftp.status(reqId, STATUS_CODE.FAILURE, 'bad handle');
        return;
      }
      if (entry.kind === 'file') await entry.file.close();
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('OPENDIR', (reqId, path) =>
    handle(reqId, async () => {
      const dir = await guest.resolvePath(path);
      if (!(await lstat(dir)).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
      sftp.handle(reqId, newHandle({ kind: 'dir', entries: undefined, dir }));
    }),
  );
  sftp.on('READDIR', (reqId, h) =>
    handle(reqId, async () => {
      const entry = entryOf(h);
      if (entry?.kind !== 'dir') {
        sftp.status(reqId, STATUS_CODE.FAILURE, 'bad handle');
        return;
      }
      if (entry.entries) {
        sftp.status(reqId, STATUS_CODE.EOF);
        return;
      }
      entry.entries = await readdir(entry.dir);
      const names = await Promise.all(
        entry.entries.map(async filename => {
          const info = await lstat(`${entry.dir}/${filename}`);
          return { filename, longname: longname(filename, info), attrs: toAttrs(info) };
        }),
      );
      if (names.length === 0) sftp.status(reqId, STATUS_CODE.EOF);
      else sftp.name(reqId, names);
    }),
  );
  const statPath = (reqId: number, path: string) =>
    handle(reqId, async () => {
      // lstat for both: links are never followed, so STAT and LSTAT agree.
      sftp.attrs(reqId, toAttrs(await lstat(await guest.resolvePath(path))));
    });
  sftp.on('STAT', statPath);
  sftp.on('LSTAT', statPath);
  sftp.on('SETSTAT', (reqId, path, attrs) =>
    handle(reqId, async () => {
      await applyAttrs(await guest.resolvePath(path), attrs);
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('MKDIR', (reqId, path, attrs) =>
    handle(reqId, async () => {
      await mkdir(await guest.resolvePath(path), { mode: attrs?.mode !== undefined ? attrs.mode & 0o7777 : 0o755 });
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('RMDIR', (reqId, path) =>
    handle(reqId, async () => {
      await rmdir(await guest.resolvePath(path));
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('REMOVE', (reqId, path) =>
    handle(reqId, async () => {
      const local = await guest.resolvePath(path);
      if ((await lstat(local)).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      await rm(local);
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('RENAME', (reqId, from, to) =>
    handle(reqId, async () => {
      await rename(await guest.resolvePath(from), await guest.resolvePath(to));
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('REALPATH', (reqId, path) =>
    handle(reqId, async () => {
      const guestPath = guest.toGuestPath(await guest.resolvePath(path));
      sftp.name(reqId, [{ filename: guestPath, longname: guestPath, attrs: {} as Attributes }]);
    }),
  );
  sftp.on('READLINK', reqId => sftp.status(reqId, STATUS_CODE.OP_UNSUPPORTED));
  sftp.on('SYMLINK', reqId => sftp.status(reqId, STATUS_CODE.OP_UNSUPPORTED));
  sftp.on('close', () => {
    for (const entry of handles.values()) if (entry.kind === 'file') void entry.file.close().catch(() => undefined);
    handles.clear();
  });
}
