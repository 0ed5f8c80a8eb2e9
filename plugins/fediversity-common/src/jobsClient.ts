import {
  ApproveJobRequest,
  CancelJobRequest,
  CreateJobRequest,
  JobDetails,
  ListJobEventsQuery,
  ListJobEventsResponse,
  ListJobsQuery,
  ListJobsResponse,
} from './jobs';

/** The job API of the Fediversity backend, as the frontend and other clients use it. */
export interface FediversityApi {
  listJobs(query?: ListJobsQuery): Promise<ListJobsResponse>;
  getJob(id: string): Promise<JobDetails>;
  /** Events after `after`; with `wait` > 0 the call long-polls until events arrive or the time passes. */
  listJobEvents(id: string, query?: ListJobEventsQuery): Promise<ListJobEventsResponse>;
  createJob(request: CreateJobRequest): Promise<JobDetails>;
  cancelJob(id: string, request?: CancelJobRequest): Promise<JobDetails>;
  approveJob(id: string, request?: ApproveJobRequest): Promise<JobDetails>;
  retryJob(id: string): Promise<JobDetails>;
}

/** The parts of Backstage's DiscoveryApi and FetchApi the client needs (structural, so no frontend dependency). */
export interface FediversityClientOptions {
  discoveryApi: { getBaseUrl(pluginId: string): Promise<string> };
  fetchApi: { fetch: typeof fetch };
}

/** Thrown for a non-2xx response; `name` and `message` come from the backend's error body. */
export class FediversityApiError extends Error {
  constructor(readonly status: number, name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export class FediversityClient implements FediversityApi {
  constructor(private readonly options: FediversityClientOptions) {}

  listJobs(query: ListJobsQuery = {}) {
    return this.request<ListJobsResponse>('GET', `/jobs${toQueryString(query)}`);
  }

  getJob(id: string) {
    return this.request<JobDetails>('GET', `/jobs/${encodeURIComponent(id)}`);
  }

  listJobEvents(id: string, query: ListJobEventsQuery = {}) {
    return this.request<ListJobEventsResponse>(
      'GET',
      `/jobs/${encodeURIComponent(id)}/events${toQueryString(query)}`,
    );
  }

  createJob(request: CreateJobRequest) {
    return this.request<JobDetails>('POST', '/jobs', request);
  }

  cancelJob(id: string, request: CancelJobRequest = {}) {
    return this.request<JobDetails>('POST', `/jobs/${encodeURIComponent(id)}/cancel`, request);
  }

  approveJob(id: string, request: ApproveJobRequest = {}) {
    return this.request<JobDetails>('POST', `/jobs/${encodeURIComponent(id)}/approve`, request);
  }

  retryJob(id: string) {
    return this.request<JobDetails>('POST', `/jobs/${encodeURIComponent(id)}/retry`, {});
  }

  /** One call to the backend's API (mounted at `/api/fediversity`); subclasses add routes through it. */
  protected async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const baseUrl = await this.options.discoveryApi.getBaseUrl('fediversity');
    const response = await this.options.fetchApi.fetch(`${baseUrl}${path}`, {
      method,
      headers: body === undefined ? undefined : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) {
      const payload = await response.json().catch(() => undefined);
      throw new FediversityApiError(
        response.status,
        payload?.error?.name ?? 'Error',
        payload?.error?.message ?? `${method} ${path} failed with HTTP ${response.status}`,
      );
    }
    return (response.status === 204 ? undefined : await response.json()) as T;
  }
}

function toQueryString(query: object): string {
  const parameters = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) parameters.set(key, String(value));
  }
  const text = parameters.toString();
  return text ? `?${text}` : '';
}
