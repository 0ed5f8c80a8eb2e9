import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { EventRecord } from '../records';

/**
 * Golden event logs, as Proxmox tests its replication state machine: a run's log is rendered to text
 * (times relative to the test's start) and compared with a committed file. A change of behaviour shows as
 * a diff of the log. Set UPDATE_GOLDEN=1 to rewrite the files after a deliberate change, and review the diff.
 */
export function renderEventLog(events: EventRecord[], start: number): string {
  return `${events
    .map(event => {
      const time = `t=${String(event.ts - start).padStart(6)}`;
      const step = event.step ? ` [${event.step}]` : '';
      const fields = event.fields ? ` ${JSON.stringify(event.fields)}` : '';
      return `${time} #${event.seq} ${event.level.padEnd(5)}${step} ${event.message}${fields}`;
    })
    .join('\n')}\n`;
}

export function expectGoldenLog(file: string, actual: string): void {
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) {
    if (process.env.CI === 'true' && process.env.UPDATE_GOLDEN !== '1' && !existsSync(file)) {
      throw new Error(`Golden log ${file} is missing; run the test with UPDATE_GOLDEN=1 and commit it`);
    }
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  expect(actual).toBe(readFileSync(file, 'utf8'));
}
