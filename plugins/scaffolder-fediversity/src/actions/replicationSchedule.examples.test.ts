import { describeExamples } from '../__testUtils__/describeExamples';
import { createReplicationScheduleAction } from './replicationSchedule';
import { examples } from './replicationSchedule.examples';

describeExamples('replicationSchedule', createReplicationScheduleAction, examples);
