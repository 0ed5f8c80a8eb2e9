import { assertUnitName } from '../../ssh/identifiers';
import type { DemoGuestState } from '../DemoGuest';
import type { DemoCommand } from './types';

function unitName(name: string): string {
  assertUnitName(name);
  return /\.(service|socket|target|timer|mount|path|slice|scope|device|swap|automount)$/.test(name)
    ? name
    : `${name}.service`;
}

function activeState(state: DemoGuestState, unit: string): 'active' | 'inactive' {
  return state.units[unit] ?? (state.currentGeneration !== null ? 'active' : 'inactive');
}

/**
 * `systemctl is-active [--quiet] <unit>…` and `start|stop|restart <unit>…`. Units count as running
 * once a generation has been switched to, unless explicitly stopped (quiesce for replication).
 */
export const demoSystemctlCommand: DemoCommand = async ({ argv, guest, stdout, stderr }) => {
  const args = argv.slice(1);
  const quiet = args.includes('--quiet') || args.includes('-q');
  const [verb, ...rawUnits] = args.filter(a => a !== '--quiet' && a !== '-q');
  let units: string[];
  try {
    units = rawUnits.map(unitName);
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
    await guest.updateState(state => {
      const next = { ...state.units };
      for (const unit of units) next[unit] = verb === 'stop' ? 'inactive' : 'active';
      return { ...state, units: next };
    });
    return 0;
  }
  stderr(`demo host: systemctl ${verb ?? ''} is not supported (is-active, start, stop, restart)\n`);
  return 1;
};
