export * from './annotations';
export * from './permissions';
export * from './jobs';
export * from './jobsClient';
export * from './jobSignals';
export * from './hostDescription';
export * from './openSourceLicenses';
export * from './schemas';
