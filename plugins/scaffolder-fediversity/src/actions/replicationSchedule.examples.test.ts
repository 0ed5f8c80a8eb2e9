import { describeExamples } from '../testing/describeExamples';
import { createReplicationScheduleAction } from './replicationSchedule';
import { examples } from './replicationSchedule.examples';

describeExamples('replicationSchedule', createReplicationScheduleAction, examples);
