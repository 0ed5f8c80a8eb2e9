export { fediversityModuleReplication } from './module';
export { replicateZfs, listZfsSnapshots, findCommonSnapshot, NoCommonSnapshotError, ForeignTargetSnapshotsError } from './zfs';
export { replicateFiles } from './rsync';
export { replicateBlobs } from './blob';
export { ensureStandby, measureStandbyLag } from './postgres';
export { ScheduleStore, retryDelayMs } from './ScheduleStore';
export type { ReplicationSchedule, RecoveryPoint } from './ScheduleStore';
export { localRunner } from './commandRunner';
export type { CommandRunner } from './commandRunner';
