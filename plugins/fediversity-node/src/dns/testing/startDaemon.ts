import { spawn } from 'node:child_process';
import { runProcess } from '../runProcess';

export interface Daemon {
  output(): string;
  isAlive(): boolean;
  stop(): Promise<void>;
}

/** Spawns a foreground server process (argv, no shell) and collects its output for diagnostics. */
export function startDaemon(argv: readonly string[]): Daemon {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let exited = false;
  child.stdout.on('data', chunk => chunks.push(chunk));
  child.stderr.on('data', chunk => chunks.push(chunk));
  child.once('exit', () => {
    exited = true;
  });
  child.once('error', err => {
    exited = true;
    chunks.push(Buffer.from(String(err)));
  });
  return {
    output: () => Buffer.concat(chunks).toString('utf8'),
    isAlive: () => !exited,
    stop: async () => {
      if (exited) return;
      const gone = new Promise(resolve => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

export async function digAnswer(port: number, name: string, type: string): Promise<string[]> {
  const result = await runProcess(
    ['dig', '@127.0.0.1', '-p', String(port), '+tcp', '+norecurse', '+short', '+time=2', '+tries=1', name, type],
    { timeoutMs: 10_000 },
  );
  if (result.exitCode !== 0) throw new Error(`dig failed: ${result.stdout}${result.stderr}`);
  return result.stdout.split('\n').filter(Boolean).sort();
}
