import { builtinMethodSchemas } from './builtin';
import { createFormatRegistry } from './formats';
import { perlPatternToRegExp } from './perlRegex';
import { ParameterValidator } from './validate';

const validator = new ParameterValidator(createFormatRegistry());
const schemas = builtinMethodSchemas();
const create = schemas['POST /nodes/{node}/lxc'];
const base = { node: 'pve-a', vmid: '120', ostemplate: 'local:vztmpl/nixos-25.05-x86_64-linux.tar.xz' };
const check = (params: Record<string, unknown>) => validator.validate(create, { ...base, ...params });

describe('PVE parameter validation (built-in rules)', () => {
  it('accepts a typical LXC create', () => {
    expect(
      check({
        hostname: 'social.example.org',
        ostype: 'nixos',
        unprivileged: '1',
        features: 'nesting=1',
        net0: 'name=eth0,bridge=vmbr0,ip=dhcp,ip6=auto,firewall=1,tag=20',
        rootfs: 'local-zfs:8',
        tags: 'fediversity;owner-a;app-mastodon',
        memory: '2048',
        'ssh-public-keys': 'ssh-ed25519 AAAA user@host',
      }),
    ).toEqual({});
  });

  it('collects every error with PVE texts', () => {
    expect(check({ vmid: 'abc', unprivileged: 'true', bogus: '1', ostype: 'windows', memory: '8', cores: '9000' })).toEqual({
      vmid: "type check ('integer') failed - got 'abc'",
      unprivileged: "type check ('boolean') failed - got 'true'",
      bogus: 'property is not defined in schema and the schema does not allow additional properties',
      ostype:
        "value 'windows' does not have a value in the enumeration 'debian, devuan, ubuntu, centos, fedora, opensuse, archlinux, alpine, gentoo, nixos, unmanaged'",
      memory: 'value must have a minimum value of 16',
      cores: 'value must have a maximum value of 8192',
    });
  });

  it('enforces required parameters and the pve-vmid format before the range', () => {
    expect(validator.validate(create, { node: 'pve-a' })).toEqual({
      vmid: 'property is missing and it is not optional',
      ostemplate: 'property is missing and it is not optional',
    });
    expect(check({ vmid: '99' })).toEqual({ vmid: 'invalid format - value does not look like a valid VM ID\n' });
    // ten digits fail the format, which PVE checks before the range
    expect(check({ vmid: '1000000000' })).toEqual({ vmid: 'invalid format - value does not look like a valid VM ID\n' });
    expect(validator.validate(schemas['GET /cluster/nextid'], { vmid: '-5' })).toEqual({
      vmid: 'invalid format - value does not look like a valid VM ID\n',
    });
  });

  it('expands indexed keys to their PVE maxima and rejects the rest as unknown', () => {
    expect(check({ net31: 'name=eth31' })).toEqual({});
    expect(check({ net32: 'name=eth32' })).toEqual({
      net32: 'property is not defined in schema and the schema does not allow additional properties',
    });
    expect(check({ mp255: 'local-zfs:4,mp=/data' })).toEqual({});
    expect(check({ mp256: 'local-zfs:4,mp=/data' })).toHaveProperty('mp256');
  });

  it('parses property strings like PVE: keys, default key, booleans, duplicates', () => {
    expect(check({ net0: 'name=eth0,firewall=yes,link_down=off' })).toEqual({});
    expect(check({ net0: 'bridge=vmbr0' })).toEqual({
      net0: 'invalid format - format error\nnet0.name: property is missing and it is not optional\n',
    });
    expect(check({ net0: 'name=eth0,name=eth1' })).toEqual({
      net0: 'invalid format - duplicate key in comma-separated list property: name\n',
    });
    expect(check({ net0: 'eth0' })).toEqual({
      net0: 'invalid format - value without key, but schema does not define a default key\n',
    });
    expect(check({ net0: 'name=eth0,tag=5000' })).toEqual({
      net0: 'invalid format - format error\nnet0.tag: value must have a maximum value of 4094\n',
    });
    expect(check({ net0: 'name=eth0,ip=10.0.0.5' })).toEqual({
      net0: 'invalid format - format error\nnet0.ip: invalid format - value does not look like a valid ipv4 network configuration\n\n',
    });
    expect(check({ rootfs: 'local-zfs:8,size=8G,ro=1' })).toEqual({});
    expect(check({ features: 'nesting=1,keyctl=maybe' })).toEqual({
      features: "invalid format - format error\nfeatures.keyctl: type check ('boolean') failed - got 'maybe'\n",
    });
  });

  it('checks -list formats entry by entry', () => {
    expect(check({ tags: 'a;b c,d' })).toEqual({});
    expect(check({ tags: 'ok;bad!tag' })).toEqual({ tags: 'invalid format - invalid characters in tag\n' });
    expect(check({ searchdomain: 'example.org other.example' })).toEqual({});
  });

  it('applies `requires` and JSON literal booleans', () => {
    expect(check({ unique: '1' })).toEqual({ restore: "missing property - 'unique' requires this property" });
    expect(check({ unique: true, restore: true })).toEqual({});
    expect(check({ cores: true })).toEqual({ cores: "type check ('integer') failed - got JSON::PP::Boolean" });
  });

  it('anchors Perl patterns and honours (?^i:)', () => {
    expect(perlPatternToRegExp('[-_.\\w\\d]+').test('vmbr0')).toBe(true);
    expect(perlPatternToRegExp('[-_.\\w\\d]+').test('vmbr0 x')).toBe(false);
    expect(perlPatternToRegExp('(?^i:abc)').test('ABC')).toBe(true);
    expect(perlPatternToRegExp('(?^:abc)').test('ABC')).toBe(false);
  });
});
