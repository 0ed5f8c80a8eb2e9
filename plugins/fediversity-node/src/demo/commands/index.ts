import { catCommand, falseCommand, hostnameCommand, ipCommand, sleepCommand, testCommand, trueCommand } from './basic';
import { demoNixosRebuildCommand, type NixosRebuildOptions } from './nixosRebuild';
import { demoSystemctlCommand } from './systemctl';
import type { DemoCommand, DemoCommandRegistry } from './types';

export type { DemoCommand, DemoCommandContext, DemoCommandRegistry } from './types';
export { demoNixosRebuildCommand } from './nixosRebuild';
export type { NixosRebuildOptions } from './nixosRebuild';
export { demoSystemctlCommand } from './systemctl';

/** The commands the portal's actions run on a guest. Extend with `new Map([...defaults, [name, fn]])`. */
export function defaultDemoCommands(options: NixosRebuildOptions = {}): Map<string, DemoCommand> {
  return new Map<string, DemoCommand>([
    ['true', trueCommand],
    ['false', falseCommand],
    ['cat', catCommand],
    ['test', testCommand],
    ['hostname', hostnameCommand],
    ['sleep', sleepCommand],
    ['ip', ipCommand],
    ['systemctl', demoSystemctlCommand],
    ['nixos-rebuild', demoNixosRebuildCommand(options)],
  ]) satisfies DemoCommandRegistry;
}
