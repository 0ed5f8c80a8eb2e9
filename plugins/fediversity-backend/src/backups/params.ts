import { commandSchema } from '@fediversity/plugin-fediversity-common';
import { z } from 'zod';
import { httpHealthSchema } from './healthCheck';

const PVE_ID = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/;

export const guestSchema = z
  .object({
    cluster: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/),
    node: z.string().regex(PVE_ID),
    vmid: z.number().int().min(100).max(999_999_999),
  })
  .strict();
export type GuestLocation = z.infer<typeof guestSchema>;

/** A vzdump archive's volume id: `<storage>:backup/vzdump-lxc-<vmid>-<time>.tar.zst`. */
export const volidSchema = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}:backup\/vzdump-(lxc|qemu)-\d+-[0-9_-]+\.[a-z.]+$/);

/** The guest a container's vzdump archive was taken of, from its volume id; undefined for anything else. */
export function archiveVmidOf(volid: string): number | undefined {
  const match = /^[^:/]+:backup\/vzdump-lxc-(\d+)-/.exec(volid);
  return match ? Number(match[1]) : undefined;
}

export const restoreParams = z
  .object({
    guest: guestSchema,
    volid: volidSchema,
    /** Storage for the restored disks. */
    storage: z.string().regex(PVE_ID),
    /** A fresh guest's vmid; the next free one when absent. */
    targetVmid: z.number().int().min(100).max(999_999_999).optional(),
    /** The app's HTTP health endpoint, checked on the restored guest. */
    health: httpHealthSchema.optional(),
  })
  .strict();
export type RestoreParams = z.infer<typeof restoreParams>;

export const drillParams = z
  .object({
    guest: guestSchema,
    /** Storage for the scratch guest's disks. */
    storage: z.string().regex(PVE_ID),
    /** The app's HTTP health endpoint, checked on the scratch guest. */
    health: httpHealthSchema.optional(),
  })
  .strict();
export type DrillParams = z.infer<typeof drillParams>;

const guestDirectory = z
  .string()
  .regex(/^\/[A-Za-z0-9._@+/-]*$/, 'an absolute plain path')
  .refine(path => !path.split('/').some(part => part === '.' || part === '..'), 'no . or .. segments');

export const backupCreateParams = z
  .object({
    guest: guestSchema,
    /** A storage of the node with `backup` content. */
    storage: z.string().regex(PVE_ID),
    /** Directories (in the guest) whose files get a sha256 manifest, recorded with the backup. */
    directories: z.array(guestDirectory).min(1).max(64),
    /** The data classes' quiesce commands, run in the guest so the manifest and the snapshot see the same files. */
    quiesce: z.array(commandSchema).max(16).default([]),
    unquiesce: z.array(commandSchema).max(16).default([]),
    /** vzdump's prune setting for this guest's backups on that storage. */
    prune: z.string().regex(/^keep-[a-z]+=\d{1,4}(?:,keep-[a-z]+=\d{1,4})*$/).optional(),
  })
  .strict()
  .refine(p => p.quiesce.length === 0 || p.unquiesce.length > 0, {
    message: 'quiesce needs unquiesce commands, or the app stays stopped',
    path: ['unquiesce'],
  });
export type BackupCreateParams = z.infer<typeof backupCreateParams>;
