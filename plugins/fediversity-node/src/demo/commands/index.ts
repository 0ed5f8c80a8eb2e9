import { catCommand, falseCommand, hostnameCommand, ipCommand, sleepCommand, trueCommand } from './basic';
import { testCommand } from './conditions';
import { dfCommand, duCommand } from './diskUsage';
import { chmodCommand, mkdirCommand, rmCommand, syncCommand, teeCommand } from './files';
import { findCommand, sha256sumCommand } from './find';
import { demoNixosRebuildCommand, type NixosRebuildOptions } from './nixosRebuild';
import { demoRsyncCommand } from './rsync';
import { shellCommand } from './shell';
import { demoSshCommand } from './ssh';
import { demoSystemctlCommand } from './systemctl';
import type { DemoCommand, DemoCommandRegistry } from './types';

export type { DemoCommand, DemoCommandContext, DemoCommandRegistry, DemoHostPeers } from './types';
export { demoNixosRebuildCommand } from './nixosRebuild';
export type { NixosRebuildOptions } from './nixosRebuild';
export { demoSystemctlCommand } from './systemctl';
export { demoRsyncCommand } from './rsync';
export { demoSshCommand } from './ssh';

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
    // The data plane of a migration between demo guests.
    ['df', dfCommand],
    ['du', duCommand],
    ['mkdir', mkdirCommand],
    ['chmod', chmodCommand],
    ['rm', rmCommand],
    ['tee', teeCommand],
    ['sync', syncCommand],
    ['find', findCommand],
    ['sha256sum', sha256sumCommand],
    ['rsync', demoRsyncCommand],
    ['ssh', demoSshCommand],
    // No shell: only the portal's fixed `sh -c` scripts (replication), emulated.
    ['sh', shellCommand],
  ]) satisfies DemoCommandRegistry;
}
