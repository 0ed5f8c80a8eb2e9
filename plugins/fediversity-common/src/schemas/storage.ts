import { z } from 'zod';
import { absolutePathSchema, entityRefSchema, rejectSecretLookingKeys } from './refs';

/**
 * Resources of the notes' storage layer ("exclusive filesystem, shared blob, ZFS"). Each `dependsOn` the Proxmox
 * storage pool(s) it lives on (`resource:default/<cluster>-<node>-<storage>`, emitted by the Proxmox provider), so
 * the catalog draws the notes' Hardware → Storage arrow.
 */
export const STORAGE_RESOURCE_TYPES = ['exclusive-filesystem', 'blob-bucket', 'zfs-dataset'] as const;
export type StorageResourceType = (typeof STORAGE_RESOURCE_TYPES)[number];

const builtinResourceFields = {
  owner: entityRefSchema({ defaultKind: 'Group', kinds: ['Group', 'User'] }),
  system: entityRefSchema({ defaultKind: 'System', kinds: ['System'] }).optional(),
  dependsOn: z
    .array(entityRefSchema({ defaultKind: 'Resource', kinds: ['Resource'] }), {
      required_error: 'spec.dependsOn is required: the storage pool(s) this storage lives on',
    })
    .min(1, 'name the storage pool(s) this storage lives on'),
};

/** A directory tree only one app writes; replicated app-aware (quiesce + rsync). */
export const exclusiveFilesystemSpecSchema = z
  .object({
    ...builtinResourceFields,
    type: z.literal('exclusive-filesystem'),
    /** Where guests mount it (bind mount into the LXC container). */
    path: absolutePathSchema,
    filesystem: z.enum(['ext4', 'xfs', 'btrfs', 'zfs']),
  })
  .passthrough()
  .superRefine((spec, ctx) => rejectSecretLookingKeys(spec, ctx));

/** S3 bucket name rules (lowercase, 3-63 characters, no leading/trailing dot or dash). */
const bucketNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name (3-63 of a-z, 0-9, ".", "-")');

/** Shared blob storage: an S3 bucket, replicated generically (mirror between buckets). No credentials here. */
export const blobBucketSpecSchema = z
  .object({
    ...builtinResourceFields,
    type: z.literal('blob-bucket'),
    /** The S3 API endpoint, e.g. a Garage node. */
    endpoint: z.string().url().refine(url => /^https?:\/\//.test(url), 'must be an http(s) URL'),
    bucket: bucketNameSchema,
    region: z.string().min(1),
    /** The S3 implementation, since features differ (Garage lacks per-object ACLs). */
    implementation: z.enum(['garage', 'minio', 'ceph-rgw', 'aws-s3']),
  })
  .passthrough()
  .superRefine((spec, ctx) => rejectSecretLookingKeys(spec, ctx));

/** A ZFS dataset; replicated by snapshot + incremental send. */
export const zfsDatasetSpecSchema = z
  .object({
    ...builtinResourceFields,
    type: z.literal('zfs-dataset'),
    /** Full dataset name, `<pool>/<path>`. */
    dataset: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*(\/[A-Za-z0-9_.:-]+)+$/, 'must be a ZFS dataset name like rpool/data/apps'),
    mountpoint: absolutePathSchema.optional(),
    /** How often a snapshot is taken and sent, in minutes (pvesr allows 1 minute and more). */
    snapshotIntervalMinutes: z.number().int().min(1).max(10080).optional(),
  })
  .passthrough()
  .superRefine((spec, ctx) => rejectSecretLookingKeys(spec, ctx));

export const storageResourceSpecSchemas: Record<StorageResourceType, z.ZodTypeAny> = {
  'exclusive-filesystem': exclusiveFilesystemSpecSchema,
  'blob-bucket': blobBucketSpecSchema,
  'zfs-dataset': zfsDatasetSpecSchema,
};

export type ExclusiveFilesystemSpec = z.infer<typeof exclusiveFilesystemSpecSchema>;
export type BlobBucketSpec = z.infer<typeof blobBucketSpecSchema>;
export type ZfsDatasetSpec = z.infer<typeof zfsDatasetSpecSchema>;
