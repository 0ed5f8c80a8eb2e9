import { chmod, lstat, mkdir, open, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { DemoCommand } from './types';
import { fileErrorText, operandsAfter, unsupportedForm } from './usage';

const OCTAL_MODE = /^0?[0-7]{3}$/;

/**
 * `mkdir -p [-m <octal>] -- <path>…` inside the guest. As with GNU mkdir, the mode applies only to
 * a directory this call creates (an existing one keeps its mode).
 */
export const mkdirCommand: DemoCommand = async ({ argv, guest, stderr }) => {
  const args = argv.slice(1);
  const mode = args[1] === '-m' && OCTAL_MODE.test(args[2] ?? '') ? parseInt(args[2], 8) : undefined;
  const paths = operandsAfter(args, mode === undefined ? ['-p', '--'] : ['-p', '-m', args[2], '--']);
  if (!paths) return unsupportedForm(stderr, 'mkdir', ['mkdir -p [-m <octal mode>] -- <path>…']);
  let status = 0;
  for (const path of paths) {
    try {
      const local = await guest.resolvePath(path);
      const existed = await stat(local).then(
        info => info.isDirectory(),
        () => false,
      );
      await mkdir(local, { recursive: true });
      if (mode !== undefined && !existed) await chmod(local, mode);
    } catch (error) {
      stderr(`mkdir: cannot create directory '${path}': ${fileErrorText(error)}\n`);
      status = 1;
    }
  }
  return status;
};

/** `chmod <octal> -- <path>…` inside the guest. */
export const chmodCommand: DemoCommand = async ({ argv, guest, stderr }) => {
  const [modeText] = argv.slice(1);
  const paths = OCTAL_MODE.test(modeText ?? '') ? operandsAfter(argv.slice(1), [modeText, '--']) : undefined;
  if (!paths) return unsupportedForm(stderr, 'chmod', ['chmod <octal mode> -- <path>…']);
  let status = 0;
  for (const path of paths) {
    try {
      await chmod(await guest.resolvePath(path), parseInt(modeText, 8));
    } catch (error) {
      stderr(`chmod: cannot access '${path}': ${fileErrorText(error)}\n`);
      status = 1;
    }
  }
  return status;
};

/**
 * `rm -f -- <path>…` and `rm -rf -- <path>…` inside the guest. The named entry itself is removed
 * (a symlink, not what it points to), and recursion never follows symlinks.
 */
export const rmCommand: DemoCommand = async ({ argv, guest, stderr }) => {
  const args = argv.slice(1);
  const recursive = args[0] === '-rf';
  const paths = operandsAfter(args, [recursive ? '-rf' : '-f', '--']);
  if (!paths) return unsupportedForm(stderr, 'rm', ['rm -f -- <path>…', 'rm -rf -- <path>…']);
  let status = 0;
  for (const path of paths) {
    const lastComponent = posix.basename(path.replace(/\/+$/, ''));
    if (lastComponent === '.' || lastComponent === '..') {
      stderr(`rm: refusing to remove '.' or '..' directory: skipping '${path}'\n`);
      status = 1;
      continue;
    }
    if (recursive && posix.resolve('/', path) === '/') {
      stderr(`rm: it is dangerous to operate recursively on '/'\n`);
      status = 1;
      continue;
    }
    try {
      const local = await guest.resolveEntryPath(path);
      if (recursive) {
        await rm(local, { recursive: true, force: true });
        continue;
      }
      const stats = await lstat(local).catch(error => {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      });
      if (stats?.isDirectory()) throw Object.assign(new Error('Is a directory'), { code: 'EISDIR' });
      if (stats) await unlink(local);
    } catch (error) {
      stderr(`rm: cannot remove '${path}': ${fileErrorText(error)}\n`);
      status = 1;
    }
  }
  return status;
};

/**
 * `sync -f -- <path>…` inside the guest: the migration's flush of a target's copy (syncfs). A demo guest's
 * root is a directory of the server's filesystem, so each path's own file (or directory) is fsync'd.
 */
export const syncCommand: DemoCommand = async ({ argv, guest, stderr }) => {
  const paths = operandsAfter(argv.slice(1), ['-f', '--']);
  if (!paths?.length) return unsupportedForm(stderr, 'sync', ['sync -f -- <path>…']);
  let status = 0;
  for (const path of paths) {
    let handle: FileHandle | undefined;
    try {
      handle = await open(await guest.resolvePath(path), 'r');
      await handle.sync();
    } catch (error) {
      stderr(`sync: error syncing '${path}': ${fileErrorText(error)}\n`);
      status = 1;
    } finally {
      await handle?.close();
    }
  }
  return status;
};

/** `tee -- <file>…`: stdin to the files (created or truncated) and to stdout, like tee. */
export const teeCommand: DemoCommand = async ({ argv, guest, stdin, stdout, stderr, signal }) => {
  const paths = operandsAfter(argv.slice(1), ['--']);
  if (!paths) return unsupportedForm(stderr, 'tee', ['tee -- <file>…']);
  let status = 0;
  const files: FileHandle[] = [];
  try {
    for (const path of paths) {
      try {
        files.push(await open(await guest.resolvePath(path), 'w', 0o644));
      } catch (error) {
        stderr(`tee: ${path}: ${fileErrorText(error)}\n`);
        status = 1;
      }
    }
    await forEachChunk(stdin, signal, async chunk => {
      stdout(chunk);
      for (const file of files) await file.write(chunk);
    });
  } finally {
    await Promise.all(files.map(file => file.close()));
  }
  return signal.aborted ? 130 : status;
};

/** Feeds stdin to `handle` chunk by chunk (pausing meanwhile) until EOF, the channel closes, or abort. */
function forEachChunk(stdin: Readable, signal: AbortSignal, handle: (chunk: Buffer) => Promise<void>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let pending = Promise.resolve();
    const finish = () => {
      cleanup();
      pending.then(resolve, reject);
    };
    const onData = (chunk: Buffer | string) => {
      stdin.pause();
      pending = pending.then(() => handle(Buffer.from(chunk))).then(() => {
        stdin.resume();
      });
      pending.catch(error => {
        cleanup();
        reject(error);
      });
    };
    function cleanup() {
      stdin.off('data', onData);
      stdin.off('end', finish);
      stdin.off('close', finish);
      signal.removeEventListener('abort', finish);
    }
    stdin.on('data', onData);
    stdin.once('end', finish);
    stdin.once('close', finish);
    signal.addEventListener('abort', finish);
    stdin.resume();
  });
}
