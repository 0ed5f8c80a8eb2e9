import { CustomErrorBase } from '@backstage/errors';

/** What the client knows about a failed Proxmox VE API call. */
export interface PveErrorDetails {
  method: string;
  /** API path without the `/api2/json` prefix, e.g. `/nodes/pve-a/lxc`. */
  path: string;
  /** HTTP status; 0 when no response arrived (connection refused, reset, TLS failure). */
  status: number;
  /** The HTTP reason phrase (PVE puts the first line of the message there; 401 carries only this). */
  reason?: string;
  /** Node's error code when no response arrived (`ECONNRESET`, `ECONNREFUSED`, `ERR_PVE_TLS_PIN`, …). */
  code?: string;
  /** Per-parameter errors from a 400 `Parameter verification failed.` answer, trailing newlines removed. */
  errors?: Record<string, string>;
}

/**
 * A structured error from the Proxmox VE API or the transport in front of it.
 * The message is PVE's own (body `message`, else the reason phrase), prefixed with the request.
 */
export class PveError extends CustomErrorBase {
  name = 'PveError' as const;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly reason?: string;
  readonly code?: string;
  readonly pveMessage: string;
  readonly errors: Record<string, string>;

  constructor(details: PveErrorDetails & { message: string }, cause?: unknown) {
    const paramErrors = Object.entries(details.errors ?? {})
      .map(([param, msg]) => `${param}: ${msg}`)
      .join('; ');
    super(
      `${details.method} ${details.path} failed${
        details.status ? ` (${details.status})` : ''
      }: ${details.message}${paramErrors ? ` [${paramErrors}]` : ''}`,
      cause,
    );
    this.method = details.method;
    this.path = details.path;
    this.status = details.status;
    this.reason = details.reason;
    this.code = details.code;
    this.pveMessage = details.message;
    this.errors = details.errors ?? {};
  }

  /** No HTTP response: the connection failed or broke. */
  get isNetworkError(): boolean {
    return this.status === 0;
  }

  /** The guest, task or file is gone (bpg's rule: 404, or 500 whose message says `does not exist`). */
  get isNotFound(): boolean {
    return (
      this.status === 404 ||
      (this.status === 500 && /does not exist/.test(this.pveMessage))
    );
  }

  /** A VMID is taken: sync 500 `CT 105 already exists …` or 400 `{vmid: "VM 105 already exists"}`. */
  get isAlreadyExists(): boolean {
    return (
      /already exists/.test(this.pveMessage) ||
      /already exists/.test(this.errors.vmid ?? '')
    );
  }
}

/** Thrown by waitForTask when a task ended with an error exit status. */
export class PveTaskError extends CustomErrorBase {
  name = 'PveTaskError' as const;
  constructor(
    readonly upid: string,
    readonly exitstatus: string,
    /** The last lines of the task log, oldest first. */
    readonly logTail: string[],
  ) {
    super(
      `Task ${upid} failed: ${exitstatus}${
        logTail.length ? `\n${logTail.join('\n')}` : ''
      }`,
    );
  }
}

/** Thrown by waitForTask when the deadline passes while the task still runs. */
export class PveTaskTimeoutError extends CustomErrorBase {
  name = 'PveTaskTimeoutError' as const;
  constructor(readonly upid: string, readonly waitedMs: number) {
    super(
      `Task ${upid} still running after ${Math.round(
        waitedMs / 1000,
      )} s; look it up before retrying, it may still finish`,
    );
  }
}
