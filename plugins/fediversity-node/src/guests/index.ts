export { ClusterGuestAccess, guestAccessServiceRef } from './guestAccess';
export type { GuestAccess, GuestAccessOptions, GuestSshEndpoint } from './guestAccess';
export { retryUntil, waitForGuestAddress } from './guestReachability';
export type { RetryUntilOptions } from './guestReachability';
