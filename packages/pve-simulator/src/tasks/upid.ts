/** `UPID:node:PID:PSTART:STARTTIME:TYPE:ID:USER:` with PVE's hex fields. */
export interface UpidFields {
  node: string;
  pid: number;
  pstart: number;
  starttime: number;
  type: string;
  id: string;
  user: string;
}

const hex = (value: number, width: number) => value.toString(16).toUpperCase().padStart(width, '0');

export function formatUpid(f: UpidFields): string {
  return `UPID:${f.node}:${hex(f.pid, 8)}:${hex(f.pstart, 8)}:${hex(f.starttime, 8)}:${f.type}:${f.id}:${f.user}:`;
}

const UPID_RE =
  /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

export function parseUpid(upid: string): UpidFields | undefined {
  const m = UPID_RE.exec(upid);
  if (!m) return undefined;
  return {
    node: m[1],
    pid: parseInt(m[3], 16),
    pstart: parseInt(m[4], 16),
    starttime: parseInt(m[5], 16),
    type: m[6],
    id: m[7],
    user: m[8],
  };
}
