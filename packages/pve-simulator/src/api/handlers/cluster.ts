import crypto from 'node:crypto';
import { ApiError, failure, parameterError } from '../errors';
import { intParam, Route, strParam } from '../route';
import { guestUsage, nodeUsage, storageFigures } from './usage';

export const clusterRoutes: Route[] = [
  {
    method: 'GET',
    path: '/access/ticket',
    permissions: { user: 'all' },
    handle: () => null,
  },
  {
    method: 'POST',
    path: '/access/ticket',
    permissions: { user: 'all' },
    allowtoken: false,
    handle: ({ core, params }) => {
      const answer = core.tickets.login(String(params.username), String(params.password), strParam(params, 'realm'));
      if (!answer) throw new ApiError(401, 'authentication failure\n');
      return answer;
    },
  },
  {
    method: 'GET',
    path: '/version',
    permissions: { user: 'all' },
    handle: () => ({ version: '9.1.1', release: '9.1', repoid: 'a1b2c3d4e5f60718', console: 'xtermjs' }),
  },
  {
    method: 'GET',
    path: '/cluster/status',
    permissions: { perm: '/', privs: ['Sys.Audit'] },
    handle: ({ core }) => {
      const nodes = [...core.state.nodes.values()];
      return [
        { type: 'cluster', id: 'cluster', name: core.state.clusterName, nodes: nodes.length, quorate: 1, version: nodes.length + 2 },
        ...nodes.map((node, index) => ({
          type: 'node',
          id: `node/${node.name}`,
          name: node.name,
          nodeid: index + 1,
          ip: node.ip,
          online: node.online ? 1 : 0,
          local: index === 0 ? 1 : 0,
          level: '',
        })),
      ];
    },
  },
  {
    method: 'GET',
    path: '/cluster/resources',
    permissions: { user: 'all' },
    handle: ({ core, caller, params }) => {
      const type = strParam(params, 'type');
      const now = core.clock.now();
      const { state, permissions } = core;
      const result: unknown[] = [];
      if (!type || type === 'node') {
        for (const node of state.nodes.values()) {
          if (!permissions.has(caller, `/nodes/${node.name}`, ['Sys.Audit'])) continue;
          result.push({
            id: `node/${node.name}`,
            type: 'node',
            node: node.name,
            status: node.online ? 'online' : 'offline',
            level: '',
            'cgroup-mode': 2,
            ...(node.online ? nodeUsage(node, state.guestsOn(node.name), now) : {}),
          });
        }
      }
      if (!type || type === 'storage') {
        for (const storage of state.storages.values()) {
          if (!permissions.has(caller, `/storage/${storage.id}`, ['Datastore.Audit', 'Datastore.AllocateSpace'], true)) continue;
          const figures = storageFigures(storage);
          result.push({
            id: `storage/${storage.node}/${storage.id}`,
            type: 'storage',
            node: storage.node,
            storage: storage.id,
            status: 'available',
            plugintype: storage.type,
            content: storage.content.join(','),
            shared: storage.shared ? 1 : 0,
            disk: figures.used,
            maxdisk: figures.total,
          });
        }
      }
      if (!type || type === 'vm') {
        for (const guest of state.guests.values()) {
          if (!permissions.has(caller, `/vms/${guest.vmid}`, ['VM.Audit'])) continue;
          const usage = guestUsage(guest, now);
          result.push({
            id: `lxc/${guest.vmid}`,
            type: 'lxc',
            vmid: guest.vmid,
            name: guest.config.hostname ?? `CT${guest.vmid}`,
            node: guest.node,
            status: guest.status,
            template: guest.config.template === '1' ? 1 : 0,
            ...(guest.config.tags ? { tags: guest.config.tags } : {}),
            ...(guest.config.lock ? { lock: guest.config.lock } : {}),
            ...(guest.pool ? { pool: guest.pool } : {}),
            maxcpu: usage.cpus,
            cpu: usage.cpu,
            maxmem: usage.maxmem,
            mem: usage.mem,
            maxdisk: usage.maxdisk,
            disk: usage.disk,
            uptime: usage.uptime,
            netin: usage.netin,
            netout: usage.netout,
            diskread: usage.diskread,
            diskwrite: usage.diskwrite,
          });
        }
      }
      if (!type) {
        for (const pool of state.pools.values()) {
          if (!permissions.has(caller, `/pool/${pool.poolid}`, ['Pool.Audit'])) continue;
          result.push({ id: `/pool/${pool.poolid}`, type: 'pool', pool: pool.poolid });
        }
      }
      return result;
    },
  },
  {
    method: 'GET',
    path: '/cluster/nextid',
    permissions: { user: 'all' },
    handle: ({ core, params }) => {
      const requested = intParam(params, 'vmid');
      if (requested !== undefined) {
        if (core.state.guests.has(requested)) throw parameterError({ vmid: `VM ${requested} already exists` });
        return String(requested);
      }
      const free = core.state.lowestFreeVmid();
      if (free === undefined) throw failure('unable to get any free VMID in range');
      // A string on the wire, although the schema says integer; and no reservation.
      return String(free);
    },
  },
  {
    method: 'GET',
    path: '/nodes',
    permissions: { user: 'all' },
    handle: ({ core, caller }) => {
      const now = core.clock.now();
      return [...core.state.nodes.values()]
        .filter(node => core.permissions.has(caller, `/nodes/${node.name}`, ['Sys.Audit']))
        .map(node => ({
          node: node.name,
          id: `node/${node.name}`,
          type: 'node',
          status: node.online ? 'online' : 'offline',
          level: '',
          ...(core.fingerprint ? { ssl_fingerprint: core.fingerprint } : {}),
          ...(node.online ? nodeUsage(node, core.state.guestsOn(node.name), now) : {}),
        }));
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/certificates/info',
    permissions: { user: 'all' },
    proxyto: true,
    handle: ({ core }) => {
      if (!core.certificatePem) return [];
      // Every simulated node serves the one certificate of the simulator's listener.
      const cert = new crypto.X509Certificate(core.certificatePem);
      return [
        {
          filename: 'pve-ssl.pem',
          fingerprint: cert.fingerprint256,
          subject: `/${cert.subject.replace(/\n/g, '/')}`,
          issuer: `/${cert.issuer.replace(/\n/g, '/')}`,
          notbefore: Math.floor(Date.parse(cert.validFrom) / 1000),
          notafter: Math.floor(Date.parse(cert.validTo) / 1000),
          san: (cert.subjectAltName ?? '').split(', ').filter(Boolean).map(entry => entry.replace(/^IP Address:/, 'IP:')),
          pem: core.certificatePem,
          'public-key-type': cert.publicKey.asymmetricKeyType === 'rsa' ? 'rsaEncryption' : String(cert.publicKey.asymmetricKeyType),
          'public-key-bits': cert.publicKey.asymmetricKeyDetails?.modulusLength,
        },
      ];
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/status',
    permissions: { perm: '/nodes/{node}', privs: ['Sys.Audit'] },
    proxyto: true,
    handle: ({ core, params }) => {
      const node = core.state.nodes.get(String(params.node));
      if (!node) throw new ApiError(500, `node '${params.node}' does not exist\n`);
      const usage = nodeUsage(node, core.state.guestsOn(node.name), core.clock.now());
      return {
        uptime: usage.uptime,
        cpu: usage.cpu,
        wait: 0.0012,
        idle: 0,
        loadavg: ['0.42', '0.38', '0.35'],
        cpuinfo: { cpus: node.cpus, sockets: 1, cores: node.cpus / 2, model: 'AMD EPYC 7443P 24-Core Processor', mhz: '2850.000', hvm: '1', flags: '' },
        memory: { total: usage.maxmem, used: usage.mem, free: usage.maxmem - usage.mem, available: usage.maxmem - usage.mem },
        swap: { total: 8 * 1024 ** 3, used: 0, free: 8 * 1024 ** 3 },
        rootfs: { total: usage.maxdisk, used: usage.disk, avail: usage.maxdisk - usage.disk, free: usage.maxdisk - usage.disk },
        ksm: { shared: 0 },
        kversion: 'Linux 6.17.2-1-pve #1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-10-21T11:55Z) x86_64',
        pveversion: 'pve-manager/9.1.1/42db4a6cf33dac83',
        'boot-info': { mode: 'efi', secureboot: 0 },
        'current-kernel': { sysname: 'Linux', release: '6.17.2-1-pve', machine: 'x86_64', version: '#1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1' },
      };
    },
  },
];
