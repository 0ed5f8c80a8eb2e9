import { InputError } from '@backstage/errors';

/** The parts of a task id, `UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:`. */
export interface Upid {
  upid: string;
  node: string;
  pid: number;
  pstart: number;
  starttime: number;
  type: string;
  id: string;
  user: string;
}

const UPID_PATTERN =
  /^UPID:([a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

export function parseUpid(upid: string): Upid {
  const match = UPID_PATTERN.exec(upid);
  if (!match) {
    throw new InputError(`Not a Proxmox task id: ${JSON.stringify(upid)}`);
  }
  const [, node, pid, pstart, starttime, type, id, user] = match;
  return {
    upid,
    node,
    pid: parseInt(pid, 16),
    pstart: parseInt(pstart, 16),
    starttime: parseInt(starttime, 16),
    type,
    id,
    user,
  };
}

export function isUpid(value: unknown): value is string {
  return typeof value === 'string' && UPID_PATTERN.test(value);
}
