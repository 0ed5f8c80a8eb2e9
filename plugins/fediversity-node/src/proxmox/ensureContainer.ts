import { ConflictError, InputError } from '@backstage/errors';
import { LxcCreateParams, PveClient } from './PveClient';
import { PveError } from './PveError';
import { parseTags } from './params';
import { ClusterResource } from './types';

export interface EnsureContainerInput {
  node: string;
  /**
   * Tags that identify this guest and no other (e.g. `fediversity`, `inst-3f2a9c`). They are added to the
   * create parameters; an existing guest carrying all of them is this guest.
   */
  identityTags: string[];
  params: Omit<LxcCreateParams, 'vmid'>;
  /** What the caller persisted from an earlier attempt, if anything. */
  known?: { vmid?: number; upid?: string };
  /** Called with the VMID before the create POST; must persist it durably before returning. */
  onVmidAllocated(vmid: number): Promise<void>;
  /** Called with the UPID right after the POST; should persist it before returning. */
  onTaskStarted(upid: string): Promise<void>;
  /** VMIDs to try before giving up on the nextid race. */
  maxAllocationAttempts?: number;
  signal?: AbortSignal;
}

export type EnsureContainerResult =
  /** We started the create task now. */
  | { outcome: 'created'; vmid: number; node: string; upid: string }
  /** A create task for this identity is still running: wait for `upid`. */
  | { outcome: 'attached'; vmid: number; node: string; upid: string }
  /** The guest exists and is not being created. */
  | { outcome: 'exists'; vmid: number; node: string };

/**
 * Creates a container at most once per identity, however often it is called and wherever a previous call
 * crashed. Looks the identity up in /cluster/resources (and the persisted VMID, since PVE writes tags only when
 * the create task finishes), attaches to an in-flight create task instead of starting another, and allocates the
 * VMID with nextid, retrying with a new id when a concurrent create took it first. A create POST is never sent
 * twice for the same VMID: an ambiguous failure is reconciled on the next call.
 */
export async function ensureContainer(
  client: PveClient,
  input: EnsureContainerInput,
): Promise<EnsureContainerResult> {
  const { signal } = input;
  if (!input.identityTags.length) {
    throw new InputError('ensureContainer needs at least one identity tag');
  }

  const existing = await findExisting(client, input);
  if (existing) return existing;

  const maxAttempts = input.maxAllocationAttempts ?? 8;
  const tags = [...new Set([...(input.params.tags ?? []), ...input.identityTags])];
  const taken = new Set<number>();
  let candidate: number | undefined = input.known?.vmid;

  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const vmid = await allocateVmid(client, candidate, taken, signal);
    await input.onVmidAllocated(vmid);
    try {
      const upid = await client.createContainer(
        input.node,
        { ...input.params, tags, vmid },
        { signal },
      );
      await input.onTaskStarted(upid);
      return { outcome: 'created', vmid, node: input.node, upid };
    } catch (error) {
      if (error instanceof PveError && error.isAlreadyExists) {
        // Lost the nextid race: another create took this id between nextid and our POST.
        taken.add(vmid);
        candidate = undefined;
        continue;
      }
      throw error;
    }
  }
  throw new ConflictError(
    `Could not allocate a VMID after ${maxAttempts} attempts; concurrent creates keep taking them`,
  );
}

async function findExisting(
  client: PveClient,
  input: EnsureContainerInput,
): Promise<EnsureContainerResult | undefined> {
  const { signal, known } = input;
  const guests = await client.getClusterResources('vm', { signal });
  const byIdentity = guests.filter(guest => hasTags(guest, input.identityTags));
  if (byIdentity.length > 1) {
    throw new ConflictError(
      `Several guests carry the identity tags ${input.identityTags.join(';')}: ${byIdentity
        .map(guest => guest.vmid)
        .join(', ')}`,
    );
  }
  const byKnownVmid =
    known?.vmid !== undefined
      ? guests.find(guest => guest.vmid === known.vmid)
      : undefined;

  const mine =
    byIdentity[0] ??
    // Tags arrive only when the create task finishes; a persisted VMID under a create lock is ours.
    (byKnownVmid && byKnownVmid.lock === 'create' ? byKnownVmid : undefined);
  if (!mine || mine.vmid === undefined || !mine.node) return undefined;

  if (mine.lock === 'create') {
    const upid = await findCreateTask(client, mine.node, mine.vmid, known?.upid, signal);
    if (!upid) {
      throw new ConflictError(
        `Guest ${mine.vmid} on ${mine.node} is locked for creation but no create task runs; ` +
          'a crashed create left it behind and needs cleaning up',
      );
    }
    await input.onTaskStarted(upid);
    return { outcome: 'attached', vmid: mine.vmid, node: mine.node, upid };
  }
  return { outcome: 'exists', vmid: mine.vmid, node: mine.node };
}

async function findCreateTask(
  client: PveClient,
  node: string,
  vmid: number,
  knownUpid: string | undefined,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const tasks = await client.listTasks(
    node,
    { vmid, typefilter: 'vzcreate', source: 'all', limit: 20 },
    { signal },
  );
  const running = tasks.filter(task => !task.endtime);
  return (
    running.find(task => task.upid === knownUpid)?.upid ??
    running.sort((a, b) => b.starttime - a.starttime)[0]?.upid
  );
}

async function allocateVmid(
  client: PveClient,
  candidate: number | undefined,
  taken: Set<number>,
  signal?: AbortSignal,
): Promise<number> {
  if (candidate !== undefined) {
    try {
      return await client.nextId(candidate, { signal });
    } catch (error) {
      if (!(error instanceof PveError && error.isAlreadyExists)) throw error;
    }
  }
  let vmid = await client.nextId(undefined, { signal });
  // nextid may hand out the id we just lost until the winner's config is visible; probe upwards past it.
  while (taken.has(vmid)) {
    try {
      vmid = await client.nextId(vmid + 1, { signal });
    } catch (error) {
      if (!(error instanceof PveError && error.isAlreadyExists)) throw error;
      taken.add(vmid + 1);
      vmid += 1;
    }
  }
  return vmid;
}

function hasTags(guest: ClusterResource, wanted: string[]): boolean {
  const tags = new Set(parseTags(guest.tags).map(tag => tag.toLowerCase()));
  return wanted.every(tag => tags.has(tag.toLowerCase()));
}
