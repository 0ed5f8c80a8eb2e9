/**
 * Annotation and label keys the Fediversity plugins put on catalog entities.
 * One place, so the processor, the providers and the frontend agree.
 */
export const FEDIVERSITY_ANNOTATION_PREFIX = 'fediversity.eu';

/** Which app definition a running instance uses, as an entity ref (`component:default/mastodon`). */
export const ANNOTATION_APP = 'fediversity.eu/app';
/** The Proxmox cluster an infrastructure entity belongs to (cluster name from config). */
export const ANNOTATION_PVE_CLUSTER = 'fediversity.eu/pve-cluster';
/** The Proxmox node name (`pve-a`). */
export const ANNOTATION_PVE_NODE = 'fediversity.eu/pve-node';
/** The guest's VMID, as a decimal string. */
export const ANNOTATION_PVE_VMID = 'fediversity.eu/vmid';
/** The Proxmox storage id (`local-zfs`). */
export const ANNOTATION_PVE_STORAGE = 'fediversity.eu/pve-storage';
/** The instance id in the fediversity backend's instance store. */
export const ANNOTATION_INSTANCE_ID = 'fediversity.eu/instance-id';
/** The flake reference deployed to a NixOS guest. */
export const ANNOTATION_FLAKE = 'fediversity.eu/flake';
/** "true" on entities backed by the embedded PVE simulator or demo hosts, so the UI can say so. */
export const ANNOTATION_DEMO = 'fediversity.eu/demo';

/** Label with the app definitions' weakness/threat keywords, for catalog filtering. */
export const LABEL_PREFIX_SWOT = 'swot.fediversity.eu';
