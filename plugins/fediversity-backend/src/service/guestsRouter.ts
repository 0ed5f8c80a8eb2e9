import { HttpAuthService } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import { PveClustersService } from '@fediversity/plugin-fediversity-node';
import express from 'express';
import Router from 'express-promise-router';

export interface GuestsRouterOptions {
  clusters: PveClustersService;
  httpAuth: HttpAuthService;
}

const PVE_ID = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/;
const CLUSTER = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

/**
 * Read-only live state from Proxmox for the entity pages and the provisioning form: the clusters, their nodes'
 * load and memory, a guest's status and a node's storage usage.
 * Any signed-in user or service may read them (the same facts the catalog shows, only fresher); the answers
 * are allow-listed fields, so nothing else Proxmox returns (config, tags, HA details) reaches the browser.
 */
export function createGuestsRouter(options: GuestsRouterOptions): express.Router {
  const { clusters, httpAuth } = options;
  const router = Router();

  router.get('/guests/:cluster/:node/:vmid/status', async (req, res) => {
    await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const { cluster, node } = checkedPlace(req.params.cluster, req.params.node);
    const vmid = Number(req.params.vmid);
    if (!Number.isInteger(vmid) || vmid < 100 || vmid > 999_999_999) throw new InputError(`Not a VMID: ${req.params.vmid}`);
    const status = await clusters.get(cluster).client.getGuestStatus({ node, vmid });
    res.json({
      status: status.status,
      uptimeSeconds: status.uptime,
      cpu: status.cpu,
      cpus: status.cpus,
      memBytes: status.mem,
      maxMemBytes: status.maxmem,
      diskBytes: status.disk,
      maxDiskBytes: status.maxdisk,
      lock: status.lock,
    });
  });

  /** The configured clusters, first one first (the one provisioning uses when none is named). */
  router.get('/clusters', async (req, res) => {
    await httpAuth.credentials(req, { allow: ['user', 'service'] });
    res.json({ items: clusters.list().map(cluster => ({ name: cluster.name, demo: cluster.demo })) });
  });

  /** A cluster's nodes with their load and memory, for placement choices (the provisioning form). */
  router.get('/nodes/:cluster', async (req, res) => {
    await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const cluster = req.params.cluster;
    if (!CLUSTER.test(cluster)) throw new InputError(`Not a cluster name: ${cluster}`);
    const nodes = await clusters.get(cluster).client.listNodes();
    res.json({
      items: nodes.map(n => ({
        node: n.node,
        status: n.status,
        cpu: n.cpu,
        maxCpu: n.maxcpu,
        memBytes: n.mem,
        maxMemBytes: n.maxmem,
      })),
    });
  });

  router.get('/nodes/:cluster/:node/storage', async (req, res) => {
    await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const { cluster, node } = checkedPlace(req.params.cluster, req.params.node);
    const storages = await clusters.get(cluster).client.listStorages(node);
    res.json({
      items: storages.map(s => ({
        storage: s.storage,
        type: s.type,
        content: s.content,
        shared: s.shared === 1,
        active: s.active === undefined ? undefined : s.active === 1,
        totalBytes: s.total,
        usedBytes: s.used,
        availBytes: s.avail,
      })),
    });
  });

  return router;
}

function checkedPlace(cluster: string, node: string) {
  if (!CLUSTER.test(cluster)) throw new InputError(`Not a cluster name: ${cluster}`);
  if (!PVE_ID.test(node)) throw new InputError(`Not a node name: ${node}`);
  return { cluster, node };
}
