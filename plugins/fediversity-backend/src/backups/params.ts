import { z } from 'zod';

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

export const restoreParams = z
  .object({
    guest: guestSchema,
    volid: volidSchema,
    /** Storage for the restored disks. */
    storage: z.string().regex(PVE_ID),
    /** A fresh guest's vmid; the next free one when absent. */
    targetVmid: z.number().int().min(100).max(999_999_999).optional(),
  })
  .strict();
export type RestoreParams = z.infer<typeof restoreParams>;

export const drillParams = z
  .object({
    guest: guestSchema,
    /** Storage for the scratch guest's disks. */
    storage: z.string().regex(PVE_ID),
  })
  .strict();
export type DrillParams = z.infer<typeof drillParams>;
