export { PveClient, lxcFeatures, lxcNetwork, nixosContainerParams } from './PveClient';
export type {
  CallOptions,
  CloneParams,
  GuestConfigUpdate,
  ListTasksParams,
  LxcCreateParams,
  LxcRestoreParams,
  PveClientOptions,
  PveConnectionOptions,
  QemuRestoreParams,
  RemoteEndpoint,
  RemoteMigrateParams,
  VzdumpParams,
} from './PveClient';
export { PveError, PveTaskError, PveTaskTimeoutError } from './PveError';
export type { PveErrorDetails } from './PveError';
export { HttpsTransport, pathOf } from './transport';
export type {
  HttpsTransportOptions,
  PveMethod,
  PveRequest,
  PveResponse,
  PveTransport,
} from './transport';
export { RetryingTransport, isSafeToRetry } from './retry';
export type { RetryOptions } from './retry';
export { createPinnedAgent, normalizeFingerprint, PveTlsPinError } from './tls';
export type { PveTlsOptions } from './tls';
export { waitForTask, parseExitStatus } from './waitForTask';
export type { WaitForTaskOptions, PveTaskApi } from './waitForTask';
export { ensureContainer } from './ensureContainer';
export type { EnsureContainerInput, EnsureContainerResult } from './ensureContainer';
export { parseUpid, isUpid } from './upid';
export type { Upid } from './upid';
export { encodeParams, propertyString, tagList, parseTags } from './params';
export type { PveParams, PveParamValue } from './params';
export { systemClock, backoffDelay } from './clock';
export type { Clock } from './clock';
export * from './types';
export {
  pveClustersServiceRef,
  StaticPveClusters,
  staticPveClustersServiceFactory,
} from './pveClustersService';
export type { PveCluster, PveClustersService } from './pveClustersService';
export { CountingTransport } from './CountingTransport';
