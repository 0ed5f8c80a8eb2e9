import { encodeParams } from '../params';
import { PveRequest, PveResponse, PveTransport } from '../transport';
import type { WireRequest } from './pveApidoc';

/** Test double that records requests in their wire form and answers from a function. */
export class RecordingTransport implements PveTransport {
  readonly requests: WireRequest[] = [];

  constructor(
    private readonly answer: (request: WireRequest) => PveResponse<unknown> = () => ({
      data: null,
    }),
  ) {}

  async request<T>(request: PveRequest): Promise<PveResponse<T>> {
    const params: Record<string, string[]> = {};
    for (const [key, value] of new URLSearchParams(encodeParams(request.params))) {
      (params[key] ??= []).push(value);
    }
    const wire = { method: request.method, path: request.path, params };
    this.requests.push(wire);
    return this.answer(wire) as PveResponse<T>;
  }
}
