export { ClusterGuestAccess, guestAccessServiceRef } from './guestAccess';
export type { GuestAccess, GuestAccessOptions, GuestSshEndpoint } from './guestAccess';
