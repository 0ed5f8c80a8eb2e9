import { join } from 'node:path';
import { lxcNetwork, PveClient } from '@fediversity/plugin-fediversity-node';
import { TargetProvisioner } from '../migration/provisionTarget';
import { migrationParams, PORTAL_KEY_REF } from './migrationFixtures';
import { MigrationHosts } from './migrationHosts';

const OSTEMPLATE = 'local:vztmpl/nixos-25.05-x86_64-linux.tar.xz';
/** Where the late-bound migration writes the key pair it makes for the copy, below the source's root. */
export const LATE_TARGET_KEY = '.ssh/fediversity-migration-0123abcd';

export interface SimulatedGuest {
  cluster: string;
  node: string;
  vmid: number;
}

/**
 * The guest a migration to a real cluster makes, as the PVE simulator reports it once provisioned: a
 * container whose address is the test target host's, so binding it reaches that host's sshd.
 */
export async function createTargetGuest(client: PveClient, hosts: MigrationHosts, cluster = 'pve'): Promise<SimulatedGuest> {
  const node = 'pve-b';
  const vmid = await client.nextId();
  const created = await client.createContainer(node, {
    vmid,
    ostemplate: OSTEMPLATE,
    rootfs: 'local-zfs:8',
    net0: lxcNetwork({ name: 'eth0', bridge: 'vmbr0', ip: `${hosts.target.address}/24` }),
  });
  await client.waitForTask(created);
  return { cluster, node, vmid };
}

/** Provisions by starting the guest createTargetGuest made (once running, nothing more). */
export function existingGuestProvisioner(client: PveClient, guest: SimulatedGuest, onProvision?: () => void): TargetProvisioner {
  return {
    async ensureTarget() {
      onProvision?.();
      const ref = { node: guest.node, vmid: guest.vmid, type: 'lxc' as const };
      if ((await client.getGuestStatus(ref)).status !== 'running') await client.waitForTask(await client.startGuest(ref));
      return { vmid: guest.vmid, node: guest.node };
    },
  };
}

/** migrationParams with a target the provision step binds: no address or key, a copy key made then. */
export function lateTargetParams(hosts: MigrationHosts, guest: SimulatedGuest): Record<string, unknown> {
  const known = migrationParams(hosts) as { target: { postgres: Record<string, unknown> } };
  const { address: _bound, ...postgres } = known.target.postgres;
  return migrationParams(hosts, {
    target: {
      bindAfterProvision: true,
      port: hosts.target.sshPort,
      username: hosts.username,
      privateKey: { secretRef: PORTAL_KEY_REF },
      pathPrefix: hosts.target.root,
      postgres,
    },
    peer: { identityFile: join(hosts.source.root, LATE_TARGET_KEY), madeForMigration: true },
    provision: { cluster: guest.cluster, node: guest.node, ostemplate: OSTEMPLATE, storage: 'local-zfs', diskGb: 8, vmid: guest.vmid },
    dns: { zone: 'example.test', name: 'app', type: 'A', ttl: 60 },
  });
}
