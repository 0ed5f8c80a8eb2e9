export { DemoHostServer } from './DemoHostServer';
export type { DemoHostServerOptions, DemoHostEndpoint } from './DemoHostServer';
export { DemoGuest, assertDemoGuestName } from './DemoGuest';
export type { DemoGuestInit, DemoGuestState, DemoGeneration } from './DemoGuest';
export { defaultDemoCommands, demoNixosRebuildCommand, demoRsyncCommand, demoSystemctlCommand } from './commands';
export type { DemoCommand, DemoCommandContext, DemoCommandRegistry, DemoHostPeers, NixosRebuildOptions } from './commands';
export { startDemoHosts } from './startDemoHosts';
export type { DemoHosts } from './startDemoHosts';
