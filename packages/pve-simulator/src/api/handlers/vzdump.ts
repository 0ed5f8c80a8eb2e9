import { splitList } from '../../schema/formats';
import { SimGuest } from '../../state/model';
import { failure } from '../errors';
import { flagParam, RequestContext, Route, strParam } from '../route';
import { rootfsSize } from './usage';

const EXTENSIONS: Record<string, string> = { '0': 'tar', '1': 'tar.lzo', gzip: 'tar.gz', lzo: 'tar.lzo', zstd: 'tar.zst' };

function stamp(epochMs: number): string {
  const d = new Date(epochMs);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}-${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}`;
}

function renderNotes(template: string, guest: SimGuest, cluster: string): string {
  return template
    .replace(/\{\{guestname\}\}/g, guest.config.hostname ?? `CT${guest.vmid}`)
    .replace(/\{\{vmid\}\}/g, String(guest.vmid))
    .replace(/\{\{node\}\}/g, guest.node)
    .replace(/\{\{cluster\}\}/g, cluster);
}

function parseKeepLast(prune: string | undefined): number | undefined {
  const match = /(?:^|,)keep-last=(\d+)/.exec(prune ?? '');
  return match ? Number(match[1]) : undefined;
}

/** POST /nodes/{node}/vzdump: one task backing up the selected guests of this node. */
function vzdump({ core, caller, params }: RequestContext): string {
  const node = String(params.node);
  const { state } = core;
  let vmids: number[];
  if (flagParam(params, 'all')) vmids = state.guestsOn(node).map(g => g.vmid);
  else if (params.pool !== undefined) vmids = state.guestsOn(node).filter(g => g.pool === params.pool).map(g => g.vmid);
  else if (params.vmid !== undefined) vmids = splitList(String(params.vmid)).map(Number);
  else throw failure('no vmid specified'); // (approx.)
  const excluded = new Set(splitList(strParam(params, 'exclude') ?? '').map(Number));
  vmids = vmids.filter(id => !excluded.has(id));

  const storageId = strParam(params, 'storage') ?? state.storagesOf(node).find(s => s.content.includes('backup'))?.id ?? 'local';
  const storage = state.storage(node, storageId);
  if (!storage) throw failure(`storage '${storageId}' does not exist`);
  if (!storage.content.includes('backup')) throw failure(`storage '${storageId}' does not support backups`); // (approx.)
  core.permissions.check(caller, `/storage/${storageId}`, ['Datastore.AllocateSpace']);
  if (params['prune-backups'] !== undefined) core.permissions.check(caller, `/storage/${storageId}`, ['Datastore.Allocate']);
  for (const vmid of vmids) core.permissions.check(caller, `/vms/${vmid}`, ['VM.Backup']);

  const ext = EXTENSIONS[strParam(params, 'compress') ?? '0'];
  const mode = strParam(params, 'mode') ?? 'snapshot';
  const notesTemplate = strParam(params, 'notes-template');
  const keepLast = parseKeepLast(strParam(params, 'prune-backups'));
  // Guests hold `lock: backup` while the job runs, as on PVE.
  const lockedByJob = new Set<number>();
  for (const vmid of vmids) {
    const guest = state.guests.get(vmid);
    if (guest && guest.node === node && !guest.config.lock) {
      guest.config.lock = 'backup';
      lockedByJob.add(vmid);
    }
  }
  const unlock = () => {
    for (const vmid of lockedByJob) {
      const guest = state.guests.get(vmid);
      if (guest?.config.lock === 'backup') delete guest.config.lock;
    }
  };

  return core.tasks.start({
    node,
    type: 'vzdump',
    id: vmids.length === 1 ? String(vmids[0]) : '',
    caller,
    durationMs: 45_000 * Math.max(1, vmids.length),
    startLog: [`INFO: starting new backup job: vzdump ${vmids.join(' ')} --mode ${mode} --storage ${storageId}${ext !== 'tar' ? ` --compress ${strParam(params, 'compress')}` : ''}`],
    finish: () => {
      unlock();
      const log: string[] = [];
      let failures = 0;
      const fail = (vmid: number, why: string) => {
        failures++;
        log.push(`ERROR: Backup of VM ${vmid} failed - ${why}`);
      };
      for (const vmid of vmids) {
        const guest = state.guests.get(vmid);
        log.push(`INFO: Starting Backup of VM ${vmid} (lxc)`);
        if (!guest || guest.node !== node) {
          fail(vmid, `unable to find configuration file for VM ${vmid} on node '${node}'`);
          continue;
        }
        if (!lockedByJob.has(vmid)) {
          fail(vmid, `CT is locked (${guest.config.lock})`);
          continue;
        }
        const size = Math.max(64 * 1024 ** 2, Math.floor(rootfsSize(guest.config.rootfs) * 0.12));
        if (storage.full || storage.total - storage.used < size) {
          fail(vmid, `vzdump archive creation failed: write error: No space left on device`);
          continue;
        }
        const volid = `${storageId}:backup/vzdump-lxc-${vmid}-${stamp(core.clock.now())}.${ext}`;
        const { lock: _lock, parent: _parent, ...config } = guest.config;
        state.addVolume(storage, {
          volid,
          content: 'backup',
          format: ext,
          size,
          ctime: core.nowSeconds(),
          vmid,
          notes: notesTemplate ? renderNotes(notesTemplate, guest, state.clusterName) : undefined,
          protected: flagParam(params, 'protected'),
          backupConfig: config,
        });
        log.push(`INFO: CT Name: ${guest.config.hostname ?? `CT${vmid}`}`, `INFO: creating vzdump archive '${volid}'`, `INFO: Finished Backup of VM ${vmid} (00:00:45)`);
        if (keepLast !== undefined) {
          const backups = [...storage.volumes.values()]
            .filter(v => v.content === 'backup' && v.vmid === vmid && !v.protected)
            .sort((a, b) => b.ctime - a.ctime || b.volid.localeCompare(a.volid));
          for (const old of backups.slice(keepLast)) {
            state.removeVolume(storage, old.volid);
            log.push(`INFO: removing backup '${old.volid}'`);
          }
        }
      }
      log.push(failures ? 'INFO: Backup job finished with errors' : 'INFO: Backup job finished successfully');
      if (failures) {
        const error = new Error('job errors');
        (error as Error & { log?: string[] }).log = log;
        throw error;
      }
      return { log };
    },
    rollback: unlock,
  }).upid;
}

export const vzdumpRoutes: Route[] = [{ method: 'POST', path: '/nodes/{node}/vzdump', permissions: { user: 'all' }, proxyto: true, handle: vzdump }];
