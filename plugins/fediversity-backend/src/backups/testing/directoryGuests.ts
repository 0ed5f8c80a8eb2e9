import { cp, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { localRunner } from '../../replication/commandRunner';
import { GuestFilesConnector } from '../guestFiles';

/**
 * Guests' file systems for tests: one directory per vmid. The PVE simulator has no file systems, so the test
 * does what vzdump and a restore do to a container's files: `archive` copies a guest's tree when its backup is
 * taken, and the next guest opened without a tree gets the archive named by `restoreNextFrom`. Everything that
 * is checked (sha256 manifests, comparisons) runs as real commands on these trees.
 */
export class DirectoryGuests {
  private nextRestore?: string;

  constructor(private readonly dir: string) {}

  root(vmid: number): string {
    return join(this.dir, 'guests', String(vmid));
  }

  archiveDir(volid: string): string {
    return join(this.dir, 'archives', volid.replace(/[^A-Za-z0-9._-]/g, '_'));
  }

  async archive(volid: string, vmid: number): Promise<void> {
    await cp(this.root(vmid), this.archiveDir(volid), { recursive: true });
  }

  restoreNextFrom(volid: string): void {
    this.nextRestore = volid;
  }

  async remove(vmid: number): Promise<void> {
    await rm(this.root(vmid), { recursive: true, force: true });
  }

  readonly connector: GuestFilesConnector = async guest => {
    const root = this.root(guest.vmid);
    if (this.nextRestore) {
      await rm(root, { recursive: true, force: true });
      await cp(this.archiveDir(this.nextRestore), root, { recursive: true });
      this.nextRestore = undefined;
    }
    await mkdir(root, { recursive: true });
    return { runner: localRunner, root, close: () => undefined };
  };
}
