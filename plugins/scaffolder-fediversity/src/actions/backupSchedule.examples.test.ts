import { describeExamples } from '../__testUtils__/describeExamples';
import { createBackupScheduleAction } from './backupSchedule';
import { examples } from './backupSchedule.examples';

describeExamples('backupSchedule', createBackupScheduleAction, examples);
