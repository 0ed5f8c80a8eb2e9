import { PveRequest, PveResponse, PveTransport } from './transport';

/** Counts the API calls that go through it (per method and path template is the caller's business). */
export class CountingTransport implements PveTransport {
  calls = 0;

  constructor(private readonly inner: PveTransport) {}

  request<T>(request: PveRequest): Promise<PveResponse<T>> {
    this.calls++;
    return this.inner.request<T>(request);
  }
}
