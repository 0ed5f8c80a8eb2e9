import { buildCluster } from '../topology';
import { callerFromTokenId, PermissionChecker, PermissionDenied } from './permissions';

const state = buildCluster(
  {
    cluster: 't',
    nodes: [{ name: 'n1' }],
    storages: [{ id: 'local-zfs', type: 'zfspool', content: ['rootdir'], total: '1T' }],
    pools: [{ poolid: 'team' }],
    guests: [
      { vmid: 100, node: 'n1', hostname: 'a', pool: 'team' },
      { vmid: 200, node: 'n1', hostname: 'b' },
    ],
    users: [
      {
        userid: 'ops@pve',
        acl: [
          { path: '/', role: 'PVEAuditor' },
          { path: '/pool/team', role: 'PVEVMAdmin' },
          { path: '/storage/local-zfs', role: 'PVEDatastoreUser', propagate: false },
        ],
      },
    ],
    tokens: [
      { id: 'ops@pve!full', privsep: false },
      { id: 'ops@pve!narrow', privsep: true, acl: [{ path: '/vms', roles: ['PVEVMUser', 'PVEVMAdmin'] }] },
      { id: 'ops@pve!none', privsep: true },
    ],
  },
  0,
);
const checker = new PermissionChecker(state);
const user = { userid: 'ops@pve', fullId: 'ops@pve' };

describe('PermissionChecker', () => {
  it('grants pool roles on member guests only', () => {
    expect(checker.has(user, '/vms/100', ['VM.PowerMgmt'])).toBe(true);
    expect(checker.has(user, '/vms/200', ['VM.PowerMgmt'])).toBe(false);
    expect(checker.has(user, '/vms/200', ['VM.Audit'])).toBe(true);
  });

  it('lets the deepest ACL path win and honours propagate=0', () => {
    expect(checker.has(user, '/storage/local-zfs', ['Datastore.AllocateSpace'])).toBe(true);
    expect(checker.has(user, '/storage/local-zfs', ['Datastore.Audit'])).toBe(true);
    expect(checker.has(user, '/storage/local-zfs/sub', ['Datastore.AllocateSpace'])).toBe(false);
  });

  it('intersects privilege-separated tokens with their user', () => {
    expect(checker.has(callerFromTokenId('ops@pve!full'), '/vms/100', ['VM.Allocate'])).toBe(true);
    const narrow = callerFromTokenId('ops@pve!narrow');
    expect(checker.has(narrow, '/vms/100', ['VM.Allocate'])).toBe(true);
    expect(checker.has(narrow, '/vms/200', ['VM.Allocate'])).toBe(false); // the user lacks it there
    expect(checker.has(narrow, '/', ['Sys.Audit'])).toBe(false); // the token lacks it
    expect(checker.privileges(callerFromTokenId('ops@pve!none'), '/vms/100').size).toBe(0);
  });

  it('words denials as PVE: first missing privilege, or all of an any-check', () => {
    expect(() => checker.check(user, '/vms/200', ['VM.Audit', 'VM.Allocate'])).toThrow(new PermissionDenied('/vms/200, VM.Allocate'));
    expect(() => checker.check(user, '/nodes/n1', ['Sys.Modify', 'Sys.PowerMgmt'], true)).toThrow(
      'Permission check failed (/nodes/n1, Sys.Modify|Sys.PowerMgmt)',
    );
    expect(checker.has({ userid: 'root@pam', fullId: 'root@pam' }, '/anything', ['Sys.Modify'])).toBe(true);
  });
});
