import { encodeParams, parseTags, propertyString, tagList } from './params';
import { nixosContainerParams } from './PveClient';
import { parseUpid } from './upid';

describe('encodeParams', () => {
  it('sends booleans as 0/1, arrays as repeated keys and drops absent values', () => {
    expect(
      encodeParams({ start: true, force: false, vmid: 105, skip: undefined, path: ['/a b', '/c'] }),
    ).toBe('start=1&force=0&vmid=105&path=%2Fa%20b&path=%2Fc');
  });
});

describe('propertyString', () => {
  it('builds key=value lists with the default key bare', () => {
    expect(propertyString({ size: 8, volume: 'local-zfs:8', acl: true }, 'volume')).toBe('local-zfs:8,size=8,acl=1');
  });

  it('refuses values that would inject extra keys', () => {
    expect(() => propertyString({ name: 'eth0,bridge=evil' })).toThrow(/may not contain/);
    expect(() => propertyString({ volume: 'a=b' }, 'volume')).toThrow(/may not contain/);
    expect(propertyString({ apitoken: 'PVEAPIToken=a@pve!t=secret' })).toBe('apitoken=PVEAPIToken=a@pve!t=secret');
  });
});

describe('tags', () => {
  it('joins valid tags and splits any separator', () => {
    expect(tagList(['fediversity', 'inst-3f2a'])).toBe('fediversity;inst-3f2a');
    expect(() => tagList(['bad tag'])).toThrow(/tag/);
    expect(parseTags('a;b,c d')).toEqual(['a', 'b', 'c', 'd']);
    expect(parseTags(undefined)).toEqual([]);
  });
});

describe('nixosContainerParams', () => {
  it('sets nixos, unprivileged, nesting and the keys', () => {
    const params = nixosContainerParams({
      vmid: 105, ostemplate: 'local:vztmpl/nixos.tar.xz', hostname: 'a.example', sshPublicKeys: ['k1', 'k2'],
      storage: 'local-zfs', diskGiB: 8,
    });
    expect(params).toMatchObject({
      ostype: 'nixos', unprivileged: true, features: 'nesting=1', rootfs: 'local-zfs:8',
      'ssh-public-keys': 'k1\nk2', net0: 'name=eth0,bridge=vmbr0,ip=dhcp',
    });
    expect(() =>
      nixosContainerParams({ ...params, hostname: 'a', sshPublicKeys: ['k1\nk3'], storage: 's', diskGiB: 1 }),
    ).toThrow(/single line/);
  });
});

describe('parseUpid', () => {
  it('splits a task id and rejects others', () => {
    expect(parseUpid('UPID:pve1:0003A1B2:0107C3D4:6650F0A1:vzcreate:105:root@pam!backstage:')).toMatchObject({
      node: 'pve1', pid: 0x3a1b2, type: 'vzcreate', id: '105', user: 'root@pam!backstage',
    });
    expect(() => parseUpid('UPID:pve1:x')).toThrow(/Not a Proxmox task id/);
  });
});
