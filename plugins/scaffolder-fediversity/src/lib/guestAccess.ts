// The guest access service is shared with the fediversity plugin (migrations reach the same guests), so it
// lives in the node library; re-exported here for the scaffolder's own imports.
export { ClusterGuestAccess, guestAccessServiceRef } from '@fediversity/plugin-fediversity-node';
export type { GuestAccess, GuestAccessOptions, GuestSshEndpoint } from '@fediversity/plugin-fediversity-node';
