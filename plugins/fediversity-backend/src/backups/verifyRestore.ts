import { PveClustersService } from '@fediversity/plugin-fediversity-node';
import { StepContext } from '../jobs/types';
import { GuestFilesConnector } from './guestFiles';
import { clientOf } from './guestSteps';
import { checkHttpHealth, guestIpv4, HttpHealth, HttpHealthResult } from './healthCheck';
import { compareManifests, computeManifest, describeComparison } from './manifest';
import { ManifestStore } from './ManifestStore';
import { GuestLocation } from './params';

export interface RestoreVerifyDeps {
  clusters: PveClustersService;
  /** The manifests taken with backups; without it checksums are reported as skipped. */
  manifests?: ManifestStore;
  /** File access to guests; without it checksums are reported as skipped. */
  guestFiles?: GuestFilesConnector;
  /**
   * The isolated PVE bridge fresh restores and drill guests start on (they carry the source's address); without
   * it their interfaces are disconnected and no health endpoint can be reached.
   */
  restoreBridge?: string;
}

/** What a restore was checked for; `passed` only when every check that could run passed. */
export interface RestoreVerification {
  passed: boolean;
  failures: string[];
  status?: string;
  hostname?: unknown;
  rootfs?: unknown;
  health?: HttpHealthResult | { skipped: string };
  checksums?:
    | { files: number; matched: number; missing: string[]; extra: string[]; differing: string[]; directories: string[] }
    | { skipped: string };
}

const LISTED_PATHS = 20;

/**
 * Checks a restored guest: it runs and is the guest the backup was taken of (hostname), the app's HTTP health
 * endpoint answers on the guest's address (when the request names one), and every file of the backed-up
 * directories has the sha256 recorded when the backup was taken (when the backup has a manifest).
 * Failed checks are returned, not thrown, so a drill can record them.
 */
export async function verifyRestore(
  ctx: StepContext<any>,
  deps: RestoreVerifyDeps,
  restored: GuestLocation,
  expected: { backupId: string; hostname?: string; health?: HttpHealth; disconnected?: boolean },
): Promise<RestoreVerification> {
  const client = clientOf(deps.clusters, restored);
  const ref = { node: restored.node, vmid: restored.vmid, type: 'lxc' as const };
  const failures: string[] = [];
  const status = (await client.getGuestStatus(ref, { signal: ctx.signal })).status;
  if (status !== 'running') failures.push(`guest ${restored.vmid} is ${status}, not running`);
  const config = (await client.getGuestConfig(ref, {}, { signal: ctx.signal })) as Record<string, unknown>;
  if (expected.hostname !== undefined && config.hostname !== expected.hostname) {
    failures.push(`hostname is ${String(config.hostname)}, expected ${expected.hostname}`);
  }
  const result: RestoreVerification = { passed: false, failures, status, hostname: config.hostname, rootfs: config.rootfs };

  if (expected.health && expected.disconnected) {
    // Not a failure of the backup: the copy was kept off the network (no restore bridge configured).
    result.health = { skipped: 'the restored guest was started disconnected (no fediversity.replication.restoreBridge)' };
  } else if (expected.health) {
    const address = guestIpv4(config);
    if (!address) {
      failures.push('the restored guest has no static IPv4 address to check its health on');
      result.health = { skipped: 'no static IPv4 in net0' };
    } else {
      result.health = await checkHttpHealth(address, expected.health, { signal: ctx.signal, now: () => ctx.clock.now(), sleep: ms => ctx.sleep(ms) });
      if (!result.health.ok) {
        failures.push(`health check ${result.health.url} answered ${result.health.status ?? result.health.error ?? 'nothing'}`);
      }
      await ctx.log(`Health ${result.health.ok ? 'passed' : 'failed'}: ${result.health.url}`, { status: result.health.status });
    }
  }

  const manifest = await deps.manifests?.get(expected.backupId);
  if (!manifest) {
    result.checksums = { skipped: 'no file manifest was recorded with this backup' };
  } else if (!deps.guestFiles) {
    result.checksums = { skipped: 'no file access to guests is configured (fediversity.replication.nodes)' };
  } else {
    const files = await deps.guestFiles(restored, ctx.signal);
    try {
      const actual = await computeManifest(files.runner, files.root, manifest.directories, ctx.signal).catch(error => {
        failures.push(`checksums could not be computed: ${(error as Error).message.slice(0, 300)}`);
        return undefined;
      });
      if (actual) {
        const comparison = compareManifests(manifest.files, actual);
        if (!comparison.ok) failures.push(`files differ from the backup: ${describeComparison(comparison)}`);
        result.checksums = {
          files: comparison.files,
          matched: comparison.matched,
          missing: comparison.missing.slice(0, LISTED_PATHS),
          extra: comparison.extra.slice(0, LISTED_PATHS),
          differing: comparison.differing.slice(0, LISTED_PATHS),
          directories: manifest.directories,
        };
        await ctx.log(`Checksums: ${describeComparison(comparison)}`);
      }
    } finally {
      files.close();
    }
  }
  result.passed = failures.length === 0;
  return result;
}
