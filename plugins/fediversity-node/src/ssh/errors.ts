import { CustomErrorBase } from '@backstage/errors';

/** The server presented a host key other than the pinned one. Never retried, never auto-accepted. */
export class HostKeyMismatchError extends CustomErrorBase {
  name = 'HostKeyMismatchError' as const;
}

/** A remote command was stopped because the caller's AbortSignal fired. */
export class RemoteCommandAbortedError extends CustomErrorBase {
  name = 'AbortError' as const;
}

/** A remote command exited non-zero (or by signal) where success was required. */
export class RemoteCommandError extends CustomErrorBase {
  name = 'RemoteCommandError' as const;

  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly exitSignal: string | null,
    readonly stderrTail: string,
  ) {
    super(message);
  }
}
