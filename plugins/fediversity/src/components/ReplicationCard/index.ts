export { ReplicationCard, REPLICATION_JOB_KIND } from './ReplicationCard';
