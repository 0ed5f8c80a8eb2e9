import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError } from '@backstage/errors';
import { Knex } from 'knex';
import { guestEntityName, resourceRef, storageEntityName } from '../catalog/proxmox/lib/entityNames';
import {
  CreateInstanceRequest,
  createInstanceRequestSchema,
  FormerGuest,
  InstanceRecord,
  MAX_FORMER_GUESTS,
} from './types';

const TABLE = 'fediversity_instances';

/** Where an instance runs: what a migration changes. */
export type InstancePlacement = Pick<InstanceRecord, 'cluster' | 'node' | 'vmid' | 'storage' | 'storageShared' | 'ssh'>;

interface InstanceRow {
  id: string;
  name: string;
  app: string;
  owner: string;
  domain: string;
  record_json: string;
  created_by: string;
  idempotency_key: string | null;
  created_at: number | string;
  updated_at: number | string;
}

/** The running instances provisioning created; the instance entity provider turns them into catalog entities. */
export class InstanceStore {
  constructor(
    private readonly db: Knex,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Records an instance. The same idempotency key returns the instance recorded first (`created: false`);
   * another instance with the same name or domain is a ConflictError.
   */
  async create(
    request: CreateInstanceRequest,
    createdBy: string,
  ): Promise<{ instance: InstanceRecord; created: boolean }> {
    const { idempotencyKey, ...fields } = createInstanceRequestSchema.parse(request);
    if (idempotencyKey) {
      const existing = await this.db<InstanceRow>(TABLE).where({ idempotency_key: idempotencyKey }).first();
      if (existing) return { instance: toRecord(existing), created: false };
    }
    const clash = await this.db<InstanceRow>(TABLE)
      .where({ name: fields.name })
      .orWhere({ domain: fields.domain })
      .first();
    if (clash) {
      throw new ConflictError(
        clash.domain === fields.domain
          ? `The domain ${fields.domain} is already served by instance ${clash.name}`
          : `An instance named ${fields.name} already exists`,
      );
    }
    const now = this.now();
    const stamp = new Date(now).toISOString();
    const record: InstanceRecord = {
      ...fields,
      id: randomUUID(),
      guestRef: resourceRef(guestEntityName(fields.cluster, 'lxc', fields.vmid)),
      storageRef: resourceRef(
        storageEntityName(
          fields.cluster,
          fields.storage,
          fields.storageShared ? { shared: true } : { shared: false, node: fields.node },
        ),
      ),
      formerGuests: [],
      createdBy,
      createdAt: stamp,
      updatedAt: stamp,
    };
    try {
      await this.db<InstanceRow>(TABLE).insert({
        id: record.id,
        name: record.name,
        app: record.app,
        owner: record.owner,
        domain: record.domain,
        record_json: JSON.stringify(record),
        created_by: createdBy,
        idempotency_key: idempotencyKey ?? null,
        created_at: now,
        updated_at: now,
      });
    } catch (error) {
      // A concurrent request with the same key won the insert: its instance is the answer.
      const winner =
        idempotencyKey &&
        (await this.db<InstanceRow>(TABLE).where({ idempotency_key: idempotencyKey }).first());
      if (winner) return { instance: toRecord(winner), created: false };
      throw new ConflictError(`Could not record instance ${record.name}: ${(error as Error).message}`);
    }
    return { instance: record, created: true };
  }

  /**
   * Points an instance at another guest (after a migration's cut-over): cluster, node, VMID, storage and, when
   * given, the SSH endpoint; the guest and storage refs follow. When the guest changes, the one it leaves is
   * remembered in `formerGuests`. Setting the same placement again changes nothing.
   */
  async relocate(id: string, placement: InstancePlacement): Promise<InstanceRecord> {
    const current = await this.get(id);
    const now = this.now();
    const storageShared = placement.storageShared;
    const moved: InstanceRecord = {
      ...current,
      cluster: placement.cluster,
      node: placement.node,
      vmid: placement.vmid,
      storage: placement.storage,
      storageShared,
      ssh: placement.ssh ?? current.ssh,
      guestRef: resourceRef(guestEntityName(placement.cluster, 'lxc', placement.vmid)),
      storageRef: resourceRef(
        storageEntityName(
          placement.cluster,
          placement.storage,
          storageShared ? { shared: true } : { shared: false, node: placement.node },
        ),
      ),
      formerGuests: isSameGuest(current, placement)
        ? current.formerGuests
        : rememberFormerGuest(current.formerGuests, leftGuest(current, now), placement),
    };
    if (JSON.stringify({ ...moved, updatedAt: '' }) === JSON.stringify({ ...current, updatedAt: '' })) return current;
    moved.updatedAt = new Date(now).toISOString();
    await this.db<InstanceRow>(TABLE)
      .where({ id })
      .update({ record_json: JSON.stringify(moved), updated_at: now });
    return moved;
  }

  async get(id: string): Promise<InstanceRecord> {
    const row = await this.db<InstanceRow>(TABLE).where({ id }).first();
    if (!row) throw new NotFoundError(`No instance ${id}`);
    return toRecord(row);
  }

  /** The instance behind a catalog entity (an instance's name is its entity name, unique). */
  async findByName(name: string): Promise<InstanceRecord | undefined> {
    const row = await this.db<InstanceRow>(TABLE).where({ name }).first();
    return row ? toRecord(row) : undefined;
  }

  async list(filter: { owner?: string; limit?: number; offset?: number } = {}): Promise<InstanceRecord[]> {
    let query = this.db<InstanceRow>(TABLE).orderBy('name');
    if (filter.owner) query = query.where({ owner: filter.owner });
    const rows = await query.limit(filter.limit ?? 1000).offset(filter.offset ?? 0);
    return rows.map(toRecord);
  }
}

/** Records written before former guests were remembered have no `formerGuests`: they never moved since. */
function toRecord(row: InstanceRow): InstanceRecord {
  const record = JSON.parse(row.record_json) as Omit<InstanceRecord, 'formerGuests'> & { formerGuests?: FormerGuest[] };
  return { ...record, formerGuests: record.formerGuests ?? [] };
}

type GuestIdentity = Pick<FormerGuest, 'cluster' | 'node' | 'vmid'>;

function isSameGuest(a: GuestIdentity, b: GuestIdentity): boolean {
  return a.cluster === b.cluster && a.node === b.node && a.vmid === b.vmid;
}

function leftGuest(instance: InstanceRecord, now: number): FormerGuest {
  return {
    cluster: instance.cluster,
    node: instance.node,
    vmid: instance.vmid,
    storage: instance.storage,
    movedAt: new Date(now).toISOString(),
  };
}

/**
 * The guest just left goes first. Each guest is listed once (a move back and forth must not list its archives
 * twice), and the one the instance now runs on is not a former guest: its archives are the current ones.
 */
function rememberFormerGuest(formerGuests: FormerGuest[], left: FormerGuest, next: GuestIdentity): FormerGuest[] {
  const others = formerGuests.filter(guest => !isSameGuest(guest, left) && !isSameGuest(guest, next));
  return [left, ...others].slice(0, MAX_FORMER_GUESTS);
}
