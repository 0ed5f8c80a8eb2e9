/**
 * PVE's built-in roles (pve-access-control), with the privileges this simulator
 * checks. Written from the PVE admin guide's role table.
 */
const VM_CONFIG = [
  'VM.Config.CDROM', 'VM.Config.CPU', 'VM.Config.Cloudinit', 'VM.Config.Disk', 'VM.Config.HWType',
  'VM.Config.Memory', 'VM.Config.Network', 'VM.Config.Options',
];
const ALL_PRIVILEGES = [
  'Datastore.Allocate', 'Datastore.AllocateSpace', 'Datastore.AllocateTemplate', 'Datastore.Audit',
  'Pool.Allocate', 'Pool.Audit', 'SDN.Allocate', 'SDN.Audit', 'SDN.Use',
  'Sys.Audit', 'Sys.Console', 'Sys.Incoming', 'Sys.Modify', 'Sys.PowerMgmt', 'Sys.Syslog', 'Sys.AccessNetwork',
  'User.Modify', 'Permissions.Modify', 'Realm.Allocate', 'Realm.AllocateUser', 'Group.Allocate',
  'Mapping.Audit', 'Mapping.Modify', 'Mapping.Use',
  'VM.Allocate', 'VM.Audit', 'VM.Backup', 'VM.Clone', 'VM.Console', 'VM.Migrate', 'VM.PowerMgmt',
  'VM.Snapshot', 'VM.Snapshot.Rollback', 'VM.GuestAgent.Audit', 'VM.GuestAgent.Unrestricted', ...VM_CONFIG,
];

export function builtinRoles(): Map<string, Set<string>> {
  const role = (privs: string[]) => new Set(privs);
  return new Map([
    ['Administrator', role(ALL_PRIVILEGES)],
    ['NoAccess', role([])],
    ['PVEAuditor', role(['Datastore.Audit', 'Mapping.Audit', 'Pool.Audit', 'SDN.Audit', 'Sys.Audit', 'VM.Audit', 'VM.GuestAgent.Audit'])],
    ['PVEVMAdmin', role([
      'VM.Allocate', 'VM.Audit', 'VM.Backup', 'VM.Clone', 'VM.Console', 'VM.Migrate', 'VM.PowerMgmt',
      'VM.Snapshot', 'VM.Snapshot.Rollback', 'VM.GuestAgent.Audit', 'VM.GuestAgent.Unrestricted', ...VM_CONFIG,
    ])],
    ['PVEVMUser', role(['VM.Audit', 'VM.Backup', 'VM.Config.CDROM', 'VM.Config.Cloudinit', 'VM.Console', 'VM.PowerMgmt', 'VM.GuestAgent.Audit'])],
    ['PVEDatastoreUser', role(['Datastore.AllocateSpace', 'Datastore.Audit'])],
    ['PVEDatastoreAdmin', role(['Datastore.Allocate', 'Datastore.AllocateSpace', 'Datastore.AllocateTemplate', 'Datastore.Audit'])],
    ['PVEPoolUser', role(['Pool.Audit'])],
    ['PVEPoolAdmin', role(['Pool.Allocate', 'Pool.Audit'])],
    ['PVESysAdmin', role(['Sys.Audit', 'Sys.Console', 'Sys.Modify', 'Sys.PowerMgmt', 'Sys.Syslog', 'Sys.AccessNetwork'])],
    ['PVESDNUser', role(['SDN.Audit', 'SDN.Use'])],
  ]);
}
