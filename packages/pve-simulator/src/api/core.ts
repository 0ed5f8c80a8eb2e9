import crypto from 'node:crypto';
import { Caller, PermissionChecker } from '../access/permissions';
import { Clock } from '../clock';
import { FaultInjector } from '../faults';
import { ClusterState } from '../state/cluster';
import { SimGuest } from '../state/model';
import { MethodSchema, ParamSchema } from '../schema/types';
import { ParameterValidator } from '../schema/validate';
import { TaskManager } from '../tasks/taskManager';
import { failure, missingConfig } from './errors';
import { TicketStore } from './tickets';

/** Everything a request handler may use. */
export class SimulatorCore {
  readonly permissions: PermissionChecker;
  readonly tasks: TaskManager;
  readonly tickets: TicketStore;

  constructor(
    readonly state: ClusterState,
    readonly clock: Clock,
    readonly faults: FaultInjector,
    readonly validator: ParameterValidator,
    /** The rules requests are validated with (built-in or from the official schema). */
    readonly schemas: Record<string, MethodSchema>,
    /** The simulator's own rules, also used to type config values in responses. */
    readonly builtinSchemas: Record<string, MethodSchema>,
    readonly speed: number,
    /** sha256 fingerprint of the server certificate (colon hex), when serving HTTPS. */
    readonly fingerprint: string | undefined,
    /** The server certificate (PEM), when serving HTTPS. */
    readonly certificatePem: string | undefined,
  ) {
    this.permissions = new PermissionChecker(state);
    this.tasks = new TaskManager(state, clock, faults, speed);
    this.tickets = new TicketStore(state, clock);
  }

  nowSeconds(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  /** The guest's config as PVE's `load_config` on `node` sees it. */
  guestOn(node: string, vmid: number): SimGuest {
    const guest = this.state.guests.get(vmid);
    if (!guest || guest.node !== node) throw missingConfig(node, vmid);
    return guest;
  }

  /** PVE's check_lock: fails while a lock is set, unless skiplock. */
  checkLock(guest: SimGuest, skiplock = false): void {
    if (guest.config.lock && !skiplock) throw failure(`CT is locked (${guest.config.lock})`);
  }

  /** PVE::Cluster::check_vmid_unused. */
  checkVmidUnused(vmid: number): void {
    const existing = this.state.guests.get(vmid);
    if (existing) throw failure(`CT ${vmid} already exists on node '${existing.node}'`);
  }

  /** PVE compares the authenticated id with root@pam, so root's API tokens are not root. */
  isRoot(caller: Caller): boolean {
    return caller.fullId === 'root@pam';
  }

  /** Config values typed as the schema says (integers and booleans as JSON numbers). */
  typedConfig(config: Record<string, string>): Record<string, string | number> {
    const properties = this.builtinSchemas['PUT /nodes/{node}/lxc/{vmid}/config'].properties;
    const typed: Record<string, string | number> = {};
    for (const [key, value] of Object.entries(config)) {
      typed[key] = isNumeric(properties[key]) && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
    }
    return typed;
  }

  /** sha1 of the config file text, as PVE's `digest`. */
  digest(config: Record<string, string>): string {
    return crypto.createHash('sha1').update(renderConfig(config)).digest('hex');
  }
}

function isNumeric(schema: ParamSchema | undefined): boolean {
  return schema?.type === 'integer' || schema?.type === 'number' || schema?.type === 'boolean';
}

export function renderConfig(config: Record<string, string>): string {
  return Object.keys(config)
    .sort()
    .map(key => `${key}: ${config[key]}\n`)
    .join('');
}
