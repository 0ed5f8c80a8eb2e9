import { PropsWithChildren } from 'react';
import { act, renderHook, waitFor } from '@testing-library/react';
import { TestApiProvider } from '@backstage/frontend-test-utils';
import { signalApiRef } from '@backstage/plugin-signals-react';
import { JobEvent, JobSignalMessage } from '@fediversity/plugin-fediversity-common';
import { fediversityApiRef } from '../../api';
import { FakeSignals, fakeApi, job } from './__testUtils__';
import { useJobUpdates } from './useJobUpdates';
import { useLiveJob } from './useLiveJob';

const ENTITY = 'component:default/social-example-org';
const update = (jobId: string, entityRef = ENTITY): JobSignalMessage => ({ jobId, entityRef, status: 'running', lastSeq: 3 });

function withApis(apis: ReadonlyArray<readonly [any, any]>) {
  return ({ children }: PropsWithChildren) => <TestApiProvider apis={apis as any}>{children}</TestApiProvider>;
}

describe('useJobUpdates', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('refetches on a signal about the job or entity it watches, once per burst, and no other time but rarely', async () => {
    const signals = new FakeSignals();
    const refetch = jest.fn();
    const { result, unmount } = renderHook(() => useJobUpdates(refetch, { entityRef: ENTITY, pollMs: 1_000 }), {
      wrapper: withApis([[signalApiRef, signals]]),
    });
    expect(result.current.live).toBe(true);

    // Signals make the fast polling unnecessary.
    act(() => jest.advanceTimersByTime(10_000));
    expect(refetch).not.toHaveBeenCalled();

    act(() => {
      signals.push(update('job-1'));
      signals.push(update('job-2'));
      signals.push(update('job-3', 'component:default/someone-else'));
      jest.advanceTimersByTime(1_000);
    });
    expect(refetch).toHaveBeenCalledTimes(1);

    // About another entity: not ours.
    act(() => {
      signals.push(update('job-3', 'component:default/someone-else'));
      jest.advanceTimersByTime(1_000);
    });
    expect(refetch).toHaveBeenCalledTimes(1);

    // Broadcast (owners unknown): may be ours, so look.
    act(() => {
      signals.push({ jobId: 'job-4' });
      jest.advanceTimersByTime(1_000);
    });
    expect(refetch).toHaveBeenCalledTimes(2);

    // Another channel is not ours either.
    act(() => {
      signals.push(update('job-1'), 'other:channel');
      jest.advanceTimersByTime(1_000);
    });
    expect(refetch).toHaveBeenCalledTimes(2);

    // In case a signal was lost, a slow poll still catches up.
    act(() => jest.advanceTimersByTime(60_000));
    expect(refetch).toHaveBeenCalledTimes(3);

    unmount();
    expect(signals.subscriptions).toBe(0);
  });

  it('ignores progress-only signals unless asked for progress', () => {
    const signals = new FakeSignals();
    const list = jest.fn();
    const progressBar = jest.fn();
    const wrapper = withApis([[signalApiRef, signals]]);
    renderHook(() => useJobUpdates(list, { entityRef: ENTITY }), { wrapper });
    renderHook(() => useJobUpdates(progressBar, { jobId: 'job-1', progress: true }), { wrapper });
    for (let second = 0; second < 3; second++) {
      // A running step reports progress every second: same status, same newest event.
      act(() => {
        signals.push(update('job-1'));
        jest.advanceTimersByTime(1_000);
      });
    }
    expect(list).toHaveBeenCalledTimes(1);
    expect(progressBar).toHaveBeenCalledTimes(3);

    act(() => {
      signals.push({ jobId: 'job-1', entityRef: ENTITY, status: 'running', lastSeq: 4 });
      jest.advanceTimersByTime(1_000);
    });
    expect(list).toHaveBeenCalledTimes(2);
  });

  it('refetches a busy page at most once a second', () => {
    const signals = new FakeSignals();
    const refetch = jest.fn();
    renderHook(() => useJobUpdates(refetch, {}), { wrapper: withApis([[signalApiRef, signals]]) });
    for (let tick = 0; tick < 50; tick++) {
      act(() => {
        signals.push({ jobId: `job-${tick}`, entityRef: ENTITY, status: 'running', lastSeq: tick });
        jest.advanceTimersByTime(100);
      });
    }
    // 5 seconds of signals every 100 ms.
    expect(refetch.mock.calls.length).toBeGreaterThanOrEqual(4);
    expect(refetch.mock.calls.length).toBeLessThanOrEqual(5);
  });

  it('watching one job, ignores the others', () => {
    const signals = new FakeSignals();
    const refetch = jest.fn();
    renderHook(() => useJobUpdates(refetch, { jobId: 'job-1' }), { wrapper: withApis([[signalApiRef, signals]]) });
    act(() => {
      signals.push(update('job-2'));
      signals.push({ jobId: 'job-3' });
      jest.advanceTimersByTime(1_000);
    });
    expect(refetch).not.toHaveBeenCalled();
    act(() => {
      signals.push({ jobId: 'job-1' });
      jest.advanceTimersByTime(1_000);
    });
    expect(refetch).toHaveBeenCalledTimes(1);
  });

  it('polls every pollMs when the app has no signals API, and stops when disabled', () => {
    const refetch = jest.fn();
    const { result, rerender } = renderHook(
      ({ enabled }) => useJobUpdates(refetch, { entityRef: ENTITY, pollMs: 1_000, enabled }),
      { wrapper: withApis([]), initialProps: { enabled: true } },
    );
    expect(result.current.live).toBe(false);
    act(() => jest.advanceTimersByTime(3_500));
    expect(refetch).toHaveBeenCalledTimes(3);

    rerender({ enabled: false });
    act(() => jest.advanceTimersByTime(10_000));
    expect(refetch).toHaveBeenCalledTimes(3);
  });
});

describe('useLiveJob with signals', () => {
  const event = (seq: number): JobEvent => ({ seq, ts: '2026-11-26T02:00:00.000Z', level: 'info', message: `line ${seq}` }) as any;

  it('reads the job and only the new events on each signal of the job, without long-polling', async () => {
    const signals = new FakeSignals();
    let status: 'running' | 'succeeded' = 'running';
    let stored = [event(1), event(2)];
    const api = fakeApi({
      getJob: jest.fn(async () => job({ id: 'job-1', status })),
      listJobEvents: jest.fn(async (_id, query) => {
        const events = stored.filter(e => e.seq > (query?.after ?? 0));
        return { events, lastSeq: events.length ? events[events.length - 1].seq : query?.after ?? 0, jobStatus: status };
      }),
    });
    const { result } = renderHook(() => useLiveJob('job-1'), {
      wrapper: withApis([
        [signalApiRef, signals],
        [fediversityApiRef, api],
      ]),
    });

    await waitFor(() => expect(result.current.events.map(e => e.seq)).toEqual([1, 2]));
    expect(result.current).toMatchObject({ live: true, job: { status: 'running' } });
    expect(api.listJobEvents).not.toHaveBeenCalledWith('job-1', expect.objectContaining({ wait: expect.anything() }));

    stored = [...stored, event(3)];
    status = 'succeeded';
    act(() => signals.push({ jobId: 'job-1', entityRef: ENTITY, status: 'succeeded', lastSeq: 3 }));
    await waitFor(() => expect(result.current.job?.status).toBe('succeeded'));
    await waitFor(() => expect(result.current.events.map(e => e.seq)).toEqual([1, 2, 3]));
    expect(api.listJobEvents).toHaveBeenLastCalledWith('job-1', expect.objectContaining({ after: 2 }));

    // Finished: no more subscription.
    await waitFor(() => expect(signals.subscriptions).toBe(0));
  });
});
