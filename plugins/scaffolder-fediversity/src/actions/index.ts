import { TemplateAction } from '@backstage/plugin-scaffolder-node';
import { createBackupScheduleAction } from './backupSchedule';
import { FediversityActionDeps } from './deps';
import { createDnsRecordsAction } from './dnsRecords';
import { createGuestAwaitReachableAction } from './guestAwaitReachable';
import { createGuestCreateAction } from './guestCreate';
import { createInstanceRegisterAction } from './instanceRegister';
import { createNixosDeployAction } from './nixosDeploy';
import { createReplicationScheduleAction } from './replicationSchedule';

export type { FediversityActionDeps } from './deps';
export { DNS_SKIPPED } from './dnsRecords';
export { INSTANCE_BACKUP_JOB_KIND } from './backupSchedule';

/** Every fediversity:* action, built from injected dependencies. */
export function createActions(deps: FediversityActionDeps): TemplateAction<any, any, any>[] {
  return [
    createGuestCreateAction(deps),
    createGuestAwaitReachableAction(deps),
    createNixosDeployAction(deps),
    createDnsRecordsAction(deps),
    createInstanceRegisterAction(deps),
    createBackupScheduleAction(deps),
    createReplicationScheduleAction(deps),
  ];
}
