export { NodeGuestsCard, StorageUsageCard } from './HostCards';
