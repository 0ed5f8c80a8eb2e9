import { MigrationParams } from './params';

/** The app's quiesce or unquiesce commands over all data classes, in order, each once. */
export function appCommands(params: MigrationParams, which: 'quiesce' | 'unquiesce'): string[][] {
  const seen = new Set<string>();
  const commands: string[][] = [];
  for (const dataClass of params.app.dataClasses) {
    for (const command of dataClass[which] ?? []) {
      const key = JSON.stringify(command);
      if (!seen.has(key)) {
        seen.add(key);
        commands.push(command);
      }
    }
  }
  return commands;
}

/** How long the app needs after its quiesce before its data is still (the longest of its data classes'). */
export function settleSeconds(params: MigrationParams): number {
  return Math.max(0, ...params.app.dataClasses.map(dataClass => dataClass.settleSeconds ?? 0));
}
