/**
 * The migration benchmark run several times in a row, each run through bench/run.js as
 * `npm run bench -- migration` runs it (same data set, same environment variables), and its figures summed
 * up. One run's downtime ratio moves with how fast the machine's disk flushes at that moment (most of the
 * window is PostgreSQL's fsyncs, see plugins/fediversity-backend/src/migration/README.md), so a single run
 * cannot say how reliably the targets are met; the series says in how many runs they were.
 *
 *   npm run bench -- migration-series        # 10 runs, about 25 s each on 2 cores
 *   npm run bench -- migration-series 20
 *
 * Prints, for downtime_s, naive_downtime_s, downtime_ratio and throughput_ratio, every run's value in the
 * order they ran (`series_<figure>_runs`), their median, least and greatest, and for each target how many
 * runs met it (`series_<figure>_met=<runs>/<all>`). The ratio is computed here from the two downtimes
 * (whole milliseconds), not read from the run's rounded `downtime_ratio`, so a run at the boundary counts as
 * it was; the throughput ratio is the run's own, to three decimals. Also the sum of lost writes, whether every
 * run found both copies' trees and tables equal, and the median cost of one journal commit on the hosts'
 * filesystems (host_durable_rename_ms, both hosts' runs).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { median } from './support/median';
import { print } from './support/print';

/** The targets, by figure. */
const TARGETS: Record<string, { atMost?: number; atLeast?: number }> = {
  downtime_s: { atMost: 3 },
  downtime_ratio: { atMost: 0.05 },
  throughput_ratio: { atLeast: 0.7 },
};

type Figures = Record<string, string>;

/** One `bench/migration.ts` run: its name=value lines; throws with its error output if it failed. */
function runOnce(index: number): Figures {
  const result = spawnSync(process.execPath, [join(__dirname, 'run.js'), 'migration'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(`run ${index} of the migration benchmark failed (exit ${result.status ?? result.signal}):\n${result.stderr.slice(-4000)}`);
  }
  const figures: Figures = {};
  for (const line of result.stdout.split('\n')) {
    const match = /^([a-z0-9_]+)=(.*)$/.exec(line);
    if (match) figures[match[1]] = match[2];
  }
  return figures;
}

function numberOf(figures: Figures, name: string): number {
  const value = Number(figures[name]);
  if (figures[name] === undefined || Number.isNaN(value)) throw new Error(`the migration benchmark printed no number for ${name}`);
  return value;
}

function summarise(name: string, values: number[]) {
  print(`series_${name}_runs`, values.map(value => Number(value.toFixed(4))).join('/'));
  print(`series_${name}_median`, median(values), 4);
  print(`series_${name}_min`, Math.min(...values), 4);
  print(`series_${name}_max`, Math.max(...values), 4);
  const target = TARGETS[name];
  if (target) {
    const met = values.filter(value => value <= (target.atMost ?? Infinity) && value >= (target.atLeast ?? -Infinity)).length;
    print(`series_${name}_met`, `${met}/${values.length}`);
  }
}

function main() {
  const runs = Number(process.argv[2] ?? 10);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`usage: npm run bench -- migration-series [runs ≥ 1], not ${process.argv[2]}`);
  const all: Figures[] = [];
  for (let index = 1; index <= runs; index++) {
    const figures = runOnce(index);
    all.push(figures);
    process.stderr.write(`run ${index}/${runs}: downtime_s=${figures.downtime_s} naive_downtime_s=${figures.naive_downtime_s}\n`);
  }
  print('series_runs', runs);
  const downtimes = all.map(figures => numberOf(figures, 'downtime_s'));
  const naive = all.map(figures => numberOf(figures, 'naive_downtime_s'));
  summarise('downtime_s', downtimes);
  summarise('naive_downtime_s', naive);
  summarise('downtime_ratio', downtimes.map((downtime, index) => downtime / naive[index]));
  summarise('throughput_ratio', all.map(figures => numberOf(figures, 'throughput_ratio')));
  print('series_lost_writes', all.reduce((sum, figures) => sum + numberOf(figures, 'lost_writes'), 0));
  print('series_all_equal', String(all.every(figures => figures.trees_equal === 'true' && figures.tables_equal === 'true')));
  const renames = all.flatMap(figures => ['source', 'target'].map(host => figures[`host_durable_rename_ms_${host}`]).filter(Boolean).map(Number));
  if (renames.length) print('series_host_durable_rename_ms_median', median(renames), 4);
}

main();
