export * from './format';
export { ErrorAlert } from './ErrorAlert';
export { usePolled } from './usePolled';
export { useEntityPermission } from './useEntityPermission';
export { Sparkline } from './Sparkline';
export { JobStatusBadge, jobStatusLabel } from './JobStatusBadge';
export { CardFrame, Loading } from './CardFrame';
export { useLiveJob } from './useLiveJob';
export { RefLink } from './RefLink';
