import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlagDirectory } from './flagDirectory';

describe('FlagDirectory', () => {
  let base: string;
  let flags: FlagDirectory;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'flags-'));
    flags = new FlagDirectory(join(base, 'run/app'));
  });
  afterEach(() => {
    flags.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('wakes a waiter when its flag appears, long before its time limit', async () => {
    const started = Date.now();
    const waiting = flags.waitFor('quiesced', { timeoutMs: 10_000 });
    setTimeout(() => writeFileSync(join(base, 'run/app/other'), ''), 5);
    setTimeout(() => writeFileSync(join(base, 'run/app/quiesced'), ''), 20);
    await expect(waiting).resolves.toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('answers at once for a flag that is there, false after the time limit or an abort', async () => {
    writeFileSync(join(base, 'run/app/started'), '');
    await expect(flags.waitFor('started')).resolves.toBe(true);
    await expect(flags.waitFor('missing', { timeoutMs: 10 })).resolves.toBe(false);
    const controller = new AbortController();
    const aborted = flags.waitFor('missing', { signal: controller.signal });
    controller.abort();
    await expect(aborted).resolves.toBe(false);
  });

  it('tells the next change of the directory', async () => {
    const change = flags.nextChange({ timeoutMs: 10_000 });
    setTimeout(() => writeFileSync(join(base, 'run/app/writer-stopped'), ''), 5);
    await expect(change).resolves.toBe(true);
    await expect(flags.nextChange({ timeoutMs: 10 })).resolves.toBe(false);
  });
});
