import { Clock } from '../clock';

/** A clock that moves only when told to; due timers fire in time order as it advances. */
export class FakeClock implements Clock {
  private timers: { at: number; order: number; callback: () => void }[] = [];
  private counter = 0;

  constructor(private current = 1_000_000) {}

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): () => void {
    const timer = { at: this.current + Math.max(0, ms), order: this.counter++, callback };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter(candidate => candidate !== timer);
    };
  }

  /** Moves time forward, firing due timers in order and letting the promises they start settle. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      const due = this.timers
        .filter(timer => timer.at <= target)
        .sort((a, b) => a.at - b.at || a.order - b.order)[0];
      if (!due) break;
      this.timers = this.timers.filter(timer => timer !== due);
      this.current = Math.max(this.current, due.at);
      due.callback();
      await settle();
    }
    this.current = target;
    await settle();
  }

  pendingTimers(): number {
    return this.timers.length;
  }
}

/** Lets pending promise callbacks and I/O completions run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise(resolve => setImmediate(resolve));
}
