export { InstanceOverviewCard } from './InstanceOverviewCard';
export { readInstanceFacts, type InstanceFacts } from './instanceFacts';
