import { findApidocPath, PveApidoc } from './pveApidoc';

const apidocPath = findApidocPath();
if (!apidocPath) {
  // eslint-disable-next-line no-console
  console.warn(
    'Skipping the PVE schema validator tests: no pve-apidoc.json (set PVE_APIDOC or put it in ../shared/data)',
  );
}
const describeWithSchema = apidocPath ? describe : describe.skip;

describeWithSchema('PveApidoc validator', () => {
  const apidoc = apidocPath ? PveApidoc.load(apidocPath) : undefined!;
  const create = (params: Record<string, string>) =>
    apidoc.validate({
      method: 'POST',
      path: '/nodes/pve-a/lxc',
      params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, [v]])),
    });
  const valid = { vmid: '105', ostemplate: 'local:vztmpl/nixos.tar.xz' };

  it('accepts a valid request', () => {
    expect(create(valid)).toEqual([]);
  });

  it('rejects unknown paths, methods and token-less calls', () => {
    expect(apidoc.validate({ method: 'GET', path: '/nodes/pve-a/nope', params: {} })[0]).toMatch(
      /no such path/,
    );
    expect(apidoc.validate({ method: 'PUT', path: '/cluster/resources', params: {} })[0]).toMatch(
      /not defined/,
    );
    expect(
      apidoc.validate({ method: 'POST', path: '/access/ticket', params: { username: ['a@pam'] } })[0],
    ).toMatch(/API tokens/);
  });

  it('reports each kind of parameter error', () => {
    expect(create({ ostemplate: 'x' })).toEqual(['vmid: property is missing and it is not optional']);
    expect(create({ ...valid, colour: 'red' })[0]).toMatch(/^colour: property is not defined/);
    expect(create({ ...valid, unprivileged: 'true' })[0]).toMatch(/type check \('boolean'\)/);
    expect(create({ ...valid, vmid: '99' })[0]).toMatch(/minimum value of 100/);
    expect(create({ ...valid, ostype: 'windows' })[0]).toMatch(/enumeration/);
    expect(create({ ...valid, hostname: 'bad_name' })[0]).toMatch(/invalid format/);
    expect(create({ ...valid, tags: 'a;b c;ok' })).toEqual([]);
    expect(create({ ...valid, tags: 'not/ok' })[0]).toMatch(/invalid format/);
  });

  it('checks property strings key by key', () => {
    expect(create({ ...valid, net0: 'name=eth0,bridge=vmbr0,ip=dhcp' })).toEqual([]);
    expect(create({ ...valid, net0: 'name=eth0,colour=red' })[0]).toMatch(/invalid key.*colour/);
    expect(create({ ...valid, net0: 'name=eth0,name=eth1' })[0]).toMatch(/duplicate key/);
    expect(create({ ...valid, net0: 'eth0' })[0]).toMatch(/without key/);
    expect(create({ ...valid, net0: 'bridge=vmbr0' })[0]).toMatch(/name: property is missing/);
    expect(create({ ...valid, rootfs: 'local-zfs:8' })).toEqual([]);
    expect(create({ ...valid, features: 'nesting=yes' })[0]).toMatch(/format error: nesting/);
    expect(create({ ...valid, net0: 'name=eth0,ip=10.0.0.5/24,gw=10.0.0.1' })).toEqual([]);
    expect(create({ ...valid, net0: 'name=eth0,ip=10.0.0.5' })[0]).toMatch(/format error: ip/);
  });

  it('resolves indexed keys and path parameters', () => {
    expect(create({ ...valid, net7: 'name=eth7' })).toEqual([]);
    expect(
      apidoc.validate({ method: 'GET', path: '/nodes/pve-a/lxc/99/status/current', params: {} })[0],
    ).toMatch(/^vmid: /);
    expect(
      apidoc.validate({
        method: 'GET',
        path: `/nodes/pve-a/tasks/${encodeURIComponent('UPID:pve-a:00000001:00000002:00000003:vzcreate:105:root@pam!t:')}/status`,
        params: {},
      }),
    ).toEqual([]);
  });
});
