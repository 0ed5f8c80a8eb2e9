import { abortableSleep, ScheduleTimer } from './abortableSleep';

/** A timer that runs only when the test says, and counts what is pending. */
function manualTimer() {
  const pending = new Map<number, () => void>();
  let next = 0;
  const schedule: ScheduleTimer = callback => {
    const id = next++;
    pending.set(id, callback);
    return () => pending.delete(id);
  };
  const fire = () => [...pending.values()].forEach(callback => callback());
  return { schedule, pending, fire };
}

describe('abortableSleep', () => {
  it('resolves when its timer fires, and leaves no abort listener behind', async () => {
    const timer = manualTimer();
    const controller = new AbortController();
    const removed = jest.spyOn(controller.signal, 'removeEventListener');
    const slept = abortableSleep(1_000, controller.signal, timer.schedule);
    expect(timer.pending.size).toBe(1);
    timer.fire();
    await expect(slept).resolves.toBeUndefined();
    expect(removed).toHaveBeenCalledWith('abort', expect.any(Function));
  });

  it("rejects with the signal's own reason and cancels its timer", async () => {
    const timer = manualTimer();
    const controller = new AbortController();
    class LeaseLost extends Error {}
    const slept = abortableSleep(1_000, controller.signal, timer.schedule);
    controller.abort(new LeaseLost('lease lost'));
    await expect(slept).rejects.toBeInstanceOf(LeaseLost);
    expect(timer.pending.size).toBe(0);
  });

  it('rejects at once, starting no timer, when the signal has already aborted', async () => {
    const timer = manualTimer();
    await expect(abortableSleep(1_000, AbortSignal.abort(new Error('stopping')), timer.schedule)).rejects.toThrow('stopping');
    expect(timer.pending.size).toBe(0);
  });

  it('waits on the real timer by default', async () => {
    const started = Date.now();
    await abortableSleep(20);
    expect(Date.now() - started).toBeGreaterThanOrEqual(19);
  });
});
