import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { PermanentJobError } from '../jobs/errors';
import { CommandResult, HostShell, hostPath } from './hosts';
import { MigrationHost } from './params';
import { GATE_LINE, startReady } from './readyCommands';
import { flushFilesystem } from './durability';
import { ensurePeerTrust, removeJobDirectory, rsyncFromSource } from './rsync';
import { MigrationStrategy, StrategyEnv } from './strategy';

/**
 * Prints, NUL-terminated, for every regular file below each path argument its mode, owner and group
 * (`<mode> <uid> <gid> <path>`) and its SHA-256 (`<64 hex>  <path>`, sha256sum -z: names unescaped), and
 * `missing <path>` for an argument that does not exist. One exec for all paths; the paths are positional
 * arguments only (absolute: find takes no `--`). find flushes its own output before it runs sha256sum and
 * waits for it, so the two never interleave within a record.
 */
const DIGEST_SCRIPT = [
  'for p do shift',
  'if [ -e "$p" ] || [ -L "$p" ]; then set -- "$@" "$p"; else printf \'missing %s\\000\' "$p"; fi',
  'done',
  '[ "$#" -eq 0 ] || exec find "$@" -type f -printf \'%m %U %G %p\\0\' -exec sha256sum -z -- {} +',
].join('\n');

/** What a host without a shell (a demo host: only the portal's fixed scripts) answers to `sh -c`. */
const NO_SHELL = 127;

interface Digest {
  /** SHA-256 over the sorted records: never logged nor returned, only compared. */
  value: string;
  /** An identity path does not exist on the host. */
  missing: boolean;
}

/**
 * The domain identity (signing keys, secrets, .env files): copied host to host with checksums, again after
 * the quiesce when it differs, and verified by comparing digests over every file's SHA-256, mode and owner on
 * both sides (a 0600 key that arrived as 0644 differs). Neither the values nor their digests are logged or
 * returned; events only say equal or not.
 */
export class IdentityStrategy implements MigrationStrategy {
  readonly name = 'identity';

  constructor(private readonly paths: string[]) {}

  async preflight(env: StrategyEnv) {
    for (const path of this.paths) {
      const exists = await env.source.run(['test', '-e', hostPath(env.params.source, path)], {
        signal: env.signal,
        check: false,
      });
      if (exists.exitCode !== 0) throw new PermanentJobError(`Identity file ${path} is missing on the source`);
    }
    const { equal } = await this.compare(env);
    return { identityFiles: this.paths.length, identityAlreadyEqual: equal };
  }

  async prepareTarget(env: StrategyEnv) {
    const parents = [...new Set(this.paths.map(path => posix.dirname(hostPath(env.params.target, path))))];
    if (parents.length) await env.target.run(['mkdir', '-p', '--', ...parents], { signal: env.signal });
  }

  async initialSync(env: StrategyEnv) {
    await this.copy(env);
    return {};
  }

  async catchUp() {
    return { seconds: 0, caughtUp: true };
  }

  /**
   * Right before the window: the identity compared, and copied where it differs. These files change when
   * an operator edits them, not while the app runs, so the window itself only verifies them; one that does
   * change in the seconds before the quiesce fails the verify and the migration rolls back.
   */
  async prepareWindow(env: StrategyEnv) {
    const { equal, sourceMissing } = await this.compare(env);
    // The files strategy's preparation writes the known_hosts file at the same time (rsyncFromSource writes
    // it itself if ssh finds none).
    if (!equal || sourceMissing) await this.copy(env, { knownHostsWritten: true });
    // The verify's digests start now and wait at their gates: the window pays for reading the files only.
    if (this.paths.length && env.ready?.hasRoom('source') && env.ready.hasRoom('target')) {
      for (const [host, params] of this.hosts(env)) env.ready.keep(`digest:${host.role}`, startReady(host, this.digestArgv(params, true), { gate: true, check: false }));
    }
    return { copiedBeforeWindow: !equal || sourceMissing };
  }

  /**
   * Nothing where the window's preparation made the identity equal (a job prepared before it did compares
   * and copies here): one digest exec per host at once, the copy only when the digests differ, or when a
   * path is missing on the source (rsync then fails as before).
   */
  async finalSync(env: StrategyEnv) {
    if (env.window?.copiedBeforeWindow !== undefined) return { copied: false };
    const { equal, sourceMissing } = await this.compare(env);
    if (equal && !sourceMissing) return { copied: false };
    await this.copy(env, { knownHostsWritten: true });
    return { copied: true };
  }

  async verify(env: StrategyEnv) {
    const { equal, startedAhead } = await this.compare(env, { fireReady: true });
    if (!equal) throw new PermanentJobError('Verification failed: the identity files differ');
    return { identityEqual: true, startedAhead };
  }

  async cutOver() {}

  async isCutOver() {
    return true;
  }

  async healthy() {
    return true;
  }

  async undoFinalSync() {}

  /** The copy's pinned key on the source goes with the job's directory (removeJobDirectory). */
  async undoInitialSync(env: StrategyEnv) {
    if (this.paths.length) await removeJobDirectory(env);
  }

  /** The identity copied host to host, then flushed to the target's disk (see flushFilesystem). */
  private async copy(env: StrategyEnv, options: { knownHostsWritten?: boolean } = {}) {
    if (!this.paths.length) return;
    if (!options.knownHostsWritten) await ensurePeerTrust(env);
    const targetDirectories = new Set<string>();
    for (const path of this.paths) {
      const targetDirectory = posix.dirname(hostPath(env.params.target, path));
      await rsyncFromSource(env, {
        sourcePath: hostPath(env.params.source, path),
        targetPath: `${targetDirectory}/`,
        mode: 'final',
        delete: false,
      });
      targetDirectories.add(targetDirectory);
    }
    await Promise.all([...targetDirectories].map(directory => flushFilesystem(env.target, directory, env.signal)));
  }

  private hosts(env: StrategyEnv) {
    return [
      [env.source, env.params.source],
      [env.target, env.params.target],
    ] as const;
  }

  /**
   * Both hosts' digests at once, with `fireReady` by the commands prepareWindow started where they still
   * wait; a digest that could not be made is equal to nothing.
   */
  private async compare(env: StrategyEnv, options: { fireReady?: boolean } = {}) {
    if (!this.paths.length) return { equal: true, sourceMissing: false, startedAhead: 0 };
    const hosts = this.hosts(env);
    let startedAhead = 0;
    const run = (host: HostShell, params: MigrationHost) => {
      const ready = options.fireReady ? env.ready?.take(`digest:${host.role}`) : undefined;
      if (!ready) return host.run(this.digestArgv(params, false), { signal: env.signal, check: false });
      startedAhead++;
      return ready.fire('', env.signal);
    };
    let [source, target] = await Promise.all(hosts.map(async ([host, params]) => this.digest(params, await run(host, params))));
    // A host without a shell (demo host) on either side: both compare file contents only, as before.
    if (source === 'no shell' || target === 'no shell') {
      [source, target] = await Promise.all(hosts.map(([host, params]) => this.contentDigest(host, params, env.signal)));
    }
    const usable = (digest: Digest | undefined | 'no shell'): digest is Digest => typeof digest === 'object';
    return {
      equal: usable(source) && usable(target) && source.value === target.value,
      sourceMissing: !usable(source) || source.missing,
      startedAhead,
    };
  }

  /** One exec for all paths (DIGEST_SCRIPT), with `gate` waiting for `go` first (readyCommands.ts). */
  private digestArgv(params: MigrationHost, gate: boolean): string[] {
    const full = this.paths.map(path => hostPath(params, path));
    return ['sh', '-c', gate ? `${GATE_LINE}\n${DIGEST_SCRIPT}` : DIGEST_SCRIPT, 'sh', ...full];
  }

  /**
   * A digest over the sorted records (names relative to the path prefix) of DIGEST_SCRIPT's output, so the
   * values never leave the hosts. Undefined when the host could not make it (an unreadable file, a
   * truncated or unknown record).
   */
  private digest(params: MigrationHost, result: CommandResult): Digest | undefined | 'no shell' {
    if (result.exitCode === NO_SHELL) return 'no shell';
    if (result.exitCode !== 0 || (result.stdout && !result.stdout.endsWith('\0'))) return undefined;
    const relative = (name: string) => relativeName(params, name);
    const records: string[] = [];
    let missing = false;
    for (const record of result.stdout.split('\0').slice(0, -1)) {
      const match =
        /^(missing) (\/.*)$/s.exec(record) ?? /^([0-7]+ [0-9]+ [0-9]+) (\/.*)$/s.exec(record) ?? /^([0-9a-f]{64}) {2}(\/.*)$/s.exec(record);
      if (!match) return undefined;
      if (match[1] === 'missing') missing = true;
      records.push(`${match[1]} ${relative(match[2])}`);
    }
    return { value: createHash('sha256').update(records.sort().join('\0')).digest('hex'), missing };
  }

  /**
   * The digest on a host without a shell: contents only (`find … -exec sha256sum`, what a demo host
   * emulates), one exec per path.
   */
  private async contentDigest(host: HostShell, params: MigrationHost, signal: AbortSignal): Promise<Digest> {
    const lines: string[] = [];
    for (const path of this.paths) {
      const full = hostPath(params, path);
      const result = await host.run(['find', full, '-type', 'f', '-exec', 'sha256sum', '--', '{}', '+'], {
        signal,
        check: false,
      });
      if (result.exitCode !== 0) return { value: `missing:${path}`, missing: true };
      for (const line of result.stdout.trim().split('\n').filter(Boolean)) {
        const [hash, ...name] = line.split('  ');
        lines.push(`${hash} ${relativeName(params, name.join('  '))}`);
      }
    }
    return { value: createHash('sha256').update(lines.sort().join('\n')).digest('hex'), missing: false };
  }
}

/** A name on a host without the host's path prefix (`/srv/app/key` below `/tmp/source/`). */
function relativeName(params: MigrationHost, name: string): string {
  return name.slice(params.pathPrefix.replace(/\/$/, '').length);
}
