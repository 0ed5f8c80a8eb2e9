import { ErrorMap } from '../schema/types';

/**
 * An error answered the way pveproxy does: status, message (its first line becomes
 * the reason phrase) and, for 400, the `errors` map.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: ErrorMap,
  ) {
    super(message);
  }
}

/** 400 `Parameter verification failed.` with per-parameter messages. */
export function parameterError(errors: ErrorMap): ApiError {
  return new ApiError(400, 'Parameter verification failed.\n', errors);
}

/** A `die` in a PVE API handler: 500 with the message. */
export function failure(message: string): ApiError {
  return new ApiError(500, message.endsWith('\n') ? message : `${message}\n`);
}

export function missingConfig(node: string, vmid: number): ApiError {
  return failure(`Configuration file 'nodes/${node}/lxc/${vmid}.conf' does not exist`);
}
