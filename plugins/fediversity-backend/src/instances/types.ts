import { z } from 'zod';
import { DOMAIN_PATTERN } from '@fediversity/plugin-fediversity-common';

const ENTITY_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const FULL_REF = (kind: string) => new RegExp(`^${kind}:[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._-]*$`);
const PVE_ID = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/;

/** Where the portal reaches the instance's guest over SSH. The host key is a public key, pinned at enrolment. */
export const instanceSshSchema = z
  .object({
    host: z.string().min(1).max(253),
    port: z.number().int().min(1).max(65535),
    username: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/),
    hostKey: z.string().min(16).max(17000),
    hostKeyFingerprint: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/),
    /** How the key came to be pinned: `tofu` (recorded on first contact and shown), `demo` (the demo host server's own key), `configured`. */
    trust: z.enum(['tofu', 'demo', 'configured']),
  })
  .strict();

/** POST /instances: what provisioning records about a new instance. */
export const createInstanceRequestSchema = z
  .object({
    /** A repeated request with the same key returns the first instance (a scaffolder step that ran again). */
    idempotencyKey: z.string().min(1).max(200).optional(),
    name: z.string().regex(ENTITY_NAME, 'must be a catalog entity name: lower-case letters, digits, dashes, at most 63'),
    app: z.string().regex(FULL_REF('component'), 'must be a full Component reference like component:default/mastodon'),
    owner: z.string().regex(FULL_REF('(?:group|user)'), 'must be a full Group or User reference like group:default/social-team'),
    domain: z.string().regex(DOMAIN_PATTERN, 'must be a lower-case DNS name (punycode)'),
    os: z.enum(['nixos', 'linux']),
    cluster: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/),
    node: z.string().regex(PVE_ID),
    vmid: z.number().int().min(100).max(999_999_999),
    storage: z.string().regex(PVE_ID),
    /** Whether the storage is shared across the cluster's nodes (its catalog name then omits the node). */
    storageShared: z.boolean().default(false),
    coreServices: z.array(z.string().regex(FULL_REF('component'))).max(32).default([]),
    flakeRef: z.string().max(300).optional(),
    ipv4: z.string().ip({ version: 'v4' }).optional(),
    ssh: instanceSshSchema.optional(),
    demo: z.boolean().default(false),
    /** The scaffolder task that provisioned it, for back-links. */
    taskId: z.string().max(200).optional(),
  })
  .strict();

export type CreateInstanceRequest = z.input<typeof createInstanceRequestSchema>;
type CreateInstanceFields = z.output<typeof createInstanceRequestSchema>;

/**
 * A guest the instance ran on before a migration moved it. Its vzdump archives stay on their backup storage after
 * the guest is destroyed, so they can still be listed and restored (as a new guest) where it lived.
 */
export interface FormerGuest {
  cluster: string;
  node: string;
  vmid: number;
  /** The storage its disks were on: where a restore of its archives puts disks by default. */
  storage: string;
  /** When the instance moved away from it (ISO time). */
  movedAt: string;
}

/** How many former guests a record keeps; older ones drop off (their archives are usually pruned by then). */
export const MAX_FORMER_GUESTS = 8;

/** A recorded instance, as the API returns it. */
export interface InstanceRecord extends Omit<CreateInstanceFields, 'idempotencyKey'> {
  id: string;
  /** `resource:default/<cluster>-ct-<vmid>` (the Proxmox provider's guest entity). */
  guestRef: string;
  /** The Proxmox provider's storage entity. */
  storageRef: string;
  /** Where it ran before, newest first, at most {@link MAX_FORMER_GUESTS}; empty until a migration moved it. */
  formerGuests: FormerGuest[];
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export const listInstancesQuerySchema = z
  .object({
    owner: z.string().max(255).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(500),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .strict();

/** Published after an instance is recorded, so the catalog provider refreshes at once instead of at its next tick. */
export const INSTANCES_TOPIC = 'fediversity.instances';
