import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { PermanentJobError } from '../jobs/errors';
import { HostShell, hostPath } from './hosts';
import { MigrationHost } from './params';
import { ensurePeerTrust, rsyncFromSource } from './rsync';
import { MigrationStrategy, StrategyEnv } from './strategy';

/**
 * The domain identity (signing keys, secrets, .env files): copied host to host with checksums, again after
 * the quiesce, and verified by comparing SHA-256 digests of every file on both sides. Neither the values nor
 * their digests are logged; events only say equal or not.
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
    const [source, target] = await Promise.all([
      this.digest(env.source, env.params.source, env.signal),
      this.digest(env.target, env.params.target, env.signal),
    ]);
    return { identityFiles: this.paths.length, identityAlreadyEqual: source === target };
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

  /** In the window: the files strategy's preparation wrote the known_hosts file (rsyncFromSource rewrites it if not). */
  async finalSync(env: StrategyEnv) {
    await this.copy(env, { knownHostsWritten: true });
    return {};
  }

  async verify(env: StrategyEnv) {
    const [source, target] = await Promise.all([
      this.digest(env.source, env.params.source, env.signal),
      this.digest(env.target, env.params.target, env.signal),
    ]);
    if (source !== target) throw new PermanentJobError('Verification failed: the identity files differ');
    return { identityEqual: true };
  }

  async cutOver() {}

  async isCutOver() {
    return true;
  }

  async healthy() {
    return true;
  }

  async undoFinalSync() {}

  async undoInitialSync() {}

  private async copy(env: StrategyEnv, options: { knownHostsWritten?: boolean } = {}) {
    if (!this.paths.length) return;
    if (!options.knownHostsWritten) await ensurePeerTrust(env);
    for (const path of this.paths) {
      await rsyncFromSource(env, {
        sourcePath: hostPath(env.params.source, path),
        targetPath: `${posix.dirname(hostPath(env.params.target, path))}/`,
        mode: 'final',
        delete: false,
      });
    }
  }

  /** One digest over the per-file SHA-256 list (relative names), so the values never leave the hosts. */
  private async digest(host: HostShell, params: MigrationHost, signal: AbortSignal): Promise<string> {
    if (!this.paths.length) return '';
    const lines: string[] = [];
    for (const path of this.paths) {
      const full = hostPath(params, path);
      const result = await host.run(['find', full, '-type', 'f', '-exec', 'sha256sum', '--', '{}', '+'], {
        signal,
        check: false,
      });
      if (result.exitCode !== 0) return `missing:${path}`;
      for (const line of result.stdout.trim().split('\n').filter(Boolean)) {
        const [hash, ...name] = line.split('  ');
        lines.push(`${hash} ${name.join('  ').slice(params.pathPrefix.replace(/\/$/, '').length)}`);
      }
    }
    return createHash('sha256').update(lines.sort().join('\n')).digest('hex');
  }
}
