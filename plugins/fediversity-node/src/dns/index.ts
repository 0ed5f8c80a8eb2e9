export { DNS_RECORD_TYPES } from './types';
export type { DnsProvider, DnsRecordSet, DnsRecordSetKey, DnsRecordType } from './types';
export {
  normalizeZone,
  normalizeRecordName,
  normalizeRecordValue,
  normalizeRecordSets,
  normalizeRecordSetKeys,
  normalizeTargetName,
  assertRecordType,
  txtRecordValue,
} from './records';
export { Rfc2136DnsProvider, TSIG_ALGORITHMS } from './Rfc2136DnsProvider';
export type { Rfc2136DnsProviderOptions, TsigKey } from './Rfc2136DnsProvider';
export { PowerDnsProvider } from './PowerDnsProvider';
export type { PowerDnsProviderOptions } from './PowerDnsProvider';
export type { ProcessRunner, ProcessResult } from './runProcess';
export { startTestNamed } from './testing/testNamed';
export type { TestNamed } from './testing/testNamed';
export { startTestPowerDns } from './testing/testPowerDns';
export type { TestPowerDns } from './testing/testPowerDns';
export { readDnsConfig, zoneOf } from './config';
export type { DnsSetup } from './config';
