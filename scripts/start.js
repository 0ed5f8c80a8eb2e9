#!/usr/bin/env node
/*
 * `npm start`: runs the portal for development, the backend on :7007 and the frontend dev server on :3000, both
 * straight from source (no prior build). Each part runs in its own process group so that stopping the portal stops
 * every process it started; when one part exits, the other is stopped too and this script exits non-zero.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const backstageCli = path.join(root, 'node_modules', '.bin', 'backstage-cli');
const parts = [
  { name: 'backend', dir: 'packages/backend' },
  { name: 'frontend', dir: 'packages/app' },
];
const STOP_GRACE_MS = 10_000;

function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch (error) {
    if (error.code !== 'ESRCH') throw error;
  }
}

function main() {
  // SQLite files and other local state (app-config.yaml points the databases here).
  fs.mkdirSync(path.join(root, '.data'), { recursive: true });

  const running = new Map();
  let stopping = false;
  let exitCode = 0;

  const stopAll = signal => {
    if (stopping) return;
    stopping = true;
    for (const child of running.values()) signalGroup(child, signal);
    setTimeout(() => {
      for (const child of running.values()) signalGroup(child, 'SIGKILL');
    }, STOP_GRACE_MS).unref();
  };

  const start = part => {
    const child = spawn(backstageCli, ['package', 'start'], {
      cwd: path.join(root, part.dir),
      stdio: 'inherit',
      detached: true, // own process group, so the whole tree under it can be signalled
      env: { ...process.env, BROWSER: 'none' },
    });
    running.set(part.name, child);
    child.on('error', error => {
      console.error(`[start] could not start the ${part.name}: ${error.message}`);
      running.delete(part.name);
      exitCode = 1;
      stopAll('SIGTERM');
    });
    child.on('exit', (code, signal) => {
      running.delete(part.name);
      if (!stopping) {
        console.error(
          `[start] the ${part.name} exited (${signal ?? `code ${code}`}); stopping the portal`,
        );
        exitCode = 1;
        stopAll('SIGTERM');
      }
      if (running.size === 0) process.exit(exitCode);
    });
  };
  parts.forEach(start);

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => stopAll(signal === 'SIGHUP' ? 'SIGTERM' : signal));
  }
}

main();
