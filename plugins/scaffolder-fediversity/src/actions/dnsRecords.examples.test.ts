import { describeExamples } from '../__testUtils__/describeExamples';
import { createDnsRecordsAction } from './dnsRecords';
import { examples } from './dnsRecords.examples';

describeExamples('dnsRecords', createDnsRecordsAction, examples);
