import { PveError, PveTaskError, PveTaskTimeoutError } from './PveError';
import { TaskStatus } from './types';
import { parseExitStatus, PveTaskApi, waitForTask } from './waitForTask';

const UPID = 'UPID:pve-a:00000001:00000002:00000003:vzcreate:105:root@pam!t:';

function fakeApi(statuses: Array<Partial<TaskStatus> | Error>, log: string[] = []) {
  let polls = 0;
  const api: PveTaskApi & { polls: () => number } = {
    polls: () => polls,
    async getTaskStatus() {
      const next = statuses[Math.min(polls++, statuses.length - 1)];
      if (next instanceof Error) throw next;
      return { upid: UPID, status: 'running', ...next } as TaskStatus;
    },
    async getTaskLogPage(_upid, page) {
      return {
        data: log.slice(page.start, page.start + page.limit).map((t, i) => ({ n: page.start + i + 1, t })),
        total: log.length,
      };
    },
  };
  return api;
}

function fakeClock() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    clock: { now: () => now, sleep: async (ms: number) => void (sleeps.push(ms), (now += ms)) },
  };
}

describe('parseExitStatus', () => {
  it('treats OK and WARNINGS: n as success, anything else as failure', () => {
    expect(parseExitStatus('OK')).toEqual({ ok: true, warnings: 0 });
    expect(parseExitStatus('WARNINGS: 2')).toEqual({ ok: true, warnings: 2 });
    expect(parseExitStatus('WARNINGS: many')).toEqual({ ok: false, warnings: 0 });
    expect(parseExitStatus('unexpected status')).toEqual({ ok: false, warnings: 0 });
  });
});

describe('waitForTask', () => {
  it('polls with growing intervals until the task stops', async () => {
    const { clock, sleeps } = fakeClock();
    const api = fakeApi([{}, {}, {}, { status: 'stopped', exitstatus: 'WARNINGS: 1' }]);
    await expect(
      waitForTask(api, UPID, { clock, initialIntervalMs: 100, maxIntervalMs: 200 }),
    ).resolves.toEqual({ upid: UPID, exitstatus: 'WARNINGS: 1', warnings: 1 });
    expect(sleeps).toEqual([100, 150, 200]);
  });

  it('fails with the exit status and the log tail', async () => {
    const log = [...Array.from({ length: 80 }, (_, i) => `line ${i}`), 'TASK ERROR: unable to create CT 105 - disk full'];
    const api = fakeApi([{ status: 'stopped', exitstatus: 'unable to create CT 105 - disk full' }], log);
    const error = await waitForTask(api, UPID, { clock: fakeClock().clock, logTailLines: 3 }).catch(e => e);
    expect(error).toBeInstanceOf(PveTaskError);
    expect(error.exitstatus).toBe('unable to create CT 105 - disk full');
    expect(error.logTail).toEqual(['line 78', 'line 79', 'TASK ERROR: unable to create CT 105 - disk full']);
  });

  it('gives a fresh task a grace period to appear, then reports other errors', async () => {
    const noSuchTask = new PveError({
      method: 'GET', path: '/x', status: 400, message: 'Parameter verification failed.', errors: { upid: 'no such task' },
    });
    const api = fakeApi([noSuchTask, noSuchTask, { status: 'stopped', exitstatus: 'OK' }]);
    await expect(waitForTask(api, UPID, { clock: fakeClock().clock })).resolves.toMatchObject({ warnings: 0 });
    const gone = fakeApi([noSuchTask]);
    await expect(
      waitForTask(gone, UPID, { clock: fakeClock().clock, unknownTaskGraceMs: 1000 }),
    ).rejects.toBe(noSuchTask);
  });

  it('times out without touching the task', async () => {
    const api = fakeApi([{}]);
    await expect(waitForTask(api, UPID, { clock: fakeClock().clock, timeoutMs: 3000 })).rejects.toBeInstanceOf(
      PveTaskTimeoutError,
    );
  });

  it('stops waiting when aborted', async () => {
    const controller = new AbortController();
    const api = fakeApi([{}]);
    const clock = {
      now: () => 0,
      sleep: async () => {
        controller.abort(new Error('user cancelled'));
      },
    };
    await expect(waitForTask(api, UPID, { clock, signal: controller.signal })).rejects.toThrow('user cancelled');
  });
});
