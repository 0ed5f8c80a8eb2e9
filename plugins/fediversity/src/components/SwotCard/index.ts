export { SwotCard } from './SwotCard';
