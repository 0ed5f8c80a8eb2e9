import { HostShell } from './hosts';

/**
 * Makes what was written below `path` on the host durable: `sync -f` is syncfs(2), which writes out the
 * whole filesystem holding `path`, file data and metadata (renames, deletions) alike. rsync does not
 * flush what it writes, and Linux keeps written data in memory for up to 30 s (dirty_expire_centisecs)
 * before writing it back: a target that crashed right after the cut-over would lose files its database
 * already refers to. The script is a constant; the path is its argument.
 */
export async function flushFilesystem(host: HostShell, path: string, signal?: AbortSignal): Promise<void> {
  const result = await host.run(['sync', '-f', '--', path], { signal, check: false });
  if (result.exitCode !== 0) {
    throw new Error(`Could not flush the ${host.role}'s filesystem holding ${path} to disk (sync exit ${result.exitCode}): ${result.stderr.trim()}`);
  }
}
