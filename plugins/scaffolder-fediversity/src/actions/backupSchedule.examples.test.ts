import { describeExamples } from '../testing/describeExamples';
import { createBackupScheduleAction } from './backupSchedule';
import { examples } from './backupSchedule.examples';

describeExamples('backupSchedule', createBackupScheduleAction, examples);
