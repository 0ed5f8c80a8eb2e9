import { describeExamples } from '../testing/describeExamples';
import { createDnsRecordsAction } from './dnsRecords';
import { examples } from './dnsRecords.examples';

describeExamples('dnsRecords', createDnsRecordsAction, examples);
