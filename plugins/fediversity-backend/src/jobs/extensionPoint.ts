import { createExtensionPoint } from '@backstage/backend-plugin-api';
import { JobKind } from './types';

/** Lets backend modules add job kinds (migration, replication...) to the fediversity plugin. */
export interface FediversityJobKindsExtensionPoint {
  addJobKind(...kinds: JobKind<any>[]): void;
}

export const fediversityJobKindsExtensionPoint = createExtensionPoint<FediversityJobKindsExtensionPoint>({
  id: 'fediversity.job-kinds',
});
