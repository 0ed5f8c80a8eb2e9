import { assertUnitName } from '../../ssh/identifiers';
import type { DemoGuestState } from '../DemoGuest';
import type { DemoCommand } from './types';

const UNIT_TYPES = /\.(service|socket|target|timer|mount|path|slice|scope|device|swap|automount)$/;
/** systemd's glob patterns for unit names (`mastodon-*.service`); they match loaded units by fnmatch. */
const UNIT_PATTERN = /^[A-Za-z0-9_*?[][A-Za-z0-9:_.@*?[\]!-]{0,254}$/;
const GLOB = /[*?[]/;

function unitName(name: string, allowPatterns: boolean): string {
  if (allowPatterns && GLOB.test(name)) {
    if (!UNIT_PATTERN.test(name)) throw new Error(`Invalid unit name pattern ${JSON.stringify(name)}`);
    // As systemctl does, a pattern is kept as given (no `.service` appended).
    return name;
  }
  assertUnitName(name);
  return UNIT_TYPES.test(name) ? name : `${name}.service`;
}

function globMatches(pattern: string, unit: string): boolean {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (char === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) return false;
      const body = pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
      source += `[${body}]`;
      i = end;
    } else source += char.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`).test(unit);
}

/**
 * A unit's state: the latest explicit start/stop naming it or a pattern matching it, else active
 * once a generation has been switched to.
 */
function activeState(state: DemoGuestState, unit: string): 'active' | 'inactive' {
  const entries = Object.entries(state.units).reverse();
  const latest = entries.find(([name]) => name === unit || (GLOB.test(name) && globMatches(name, unit)));
  return latest?.[1] ?? (state.currentGeneration !== null ? 'active' : 'inactive');
}

/**
 * Units a start of these names starts: a NixOS app's target wants the app's services, so starting
 * `mastodon.target` starts `mastodon-*` too.
 */
function startedWith(units: string[]): string[] {
  const wanted = units.filter(unit => unit.endsWith('.target')).map(unit => `${unit.slice(0, -'.target'.length)}-*`);
  return [...units, ...wanted];
}

/**
 * `systemctl is-active [--quiet] <unit>…` and `start|stop|restart <unit or pattern>…`. Units count
 * as running once a generation has been switched to, unless stopped since (quiesce for migration
 * and replication). States are kept in the order they were set, so the latest start or stop wins.
 */
export const demoSystemctlCommand: DemoCommand = async ({ argv, guest, stdout, stderr }) => {
  const args = argv.slice(1);
  const quiet = args.includes('--quiet') || args.includes('-q');
  const [verb, ...rawUnits] = args.filter(a => a !== '--quiet' && a !== '-q');
  let units: string[];
  try {
    units = rawUnits.map(name => unitName(name, verb !== 'is-active'));
  } catch (err) {
    stderr(`systemctl: ${(err as Error).message}\n`);
    return 1;
  }
  if (units.length === 0) {
    stderr('systemctl: a unit name is required\n');
    return 1;
  }
  if (verb === 'is-active') {
    const state = await guest.readState();
    const states = units.map(unit => activeState(state, unit));
    if (!quiet) stdout(states.map(s => `${s}\n`).join(''));
    return states.every(s => s === 'active') ? 0 : 3;
  }
  if (verb === 'start' || verb === 'stop' || verb === 'restart') {
    const affected = verb === 'stop' ? units : startedWith(units);
    await guest.updateState(state => {
      const next = { ...state.units };
      for (const unit of affected) {
        delete next[unit];
        next[unit] = verb === 'stop' ? 'inactive' : 'active';
      }
      return { ...state, units: next };
    });
    return 0;
  }
  stderr(`demo host: systemctl ${verb ?? ''} is not supported (is-active, start, stop, restart)\n`);
  return 1;
};
