/*
 * Starting, waiting for and stopping the portal the way a person does (`npm start` = scripts/start.js).
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const STOP_GRACE_MS = 20_000;

/** Starts scripts/start.js in its own process group, its output appended to `logFile`. */
function startPortal({ root, logFile }) {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [path.join(root, 'scripts', 'start.js')], {
    cwd: root,
    stdio: ['ignore', log, log],
    detached: true,
  });
  fs.closeSync(log);
  let exited = false;
  const exit = new Promise(resolve =>
    child.on('exit', (code, signal) => {
      exited = true;
      resolve({ code, signal });
    }),
  );

  return {
    pid: child.pid,
    hasExited: () => exited,
    exit,
    /**
     * Asks start.js to stop (it stops the backend's and the frontend's process groups), then kills its group if it
     * has not exited after a grace period.
     */
    async stop() {
      if (exited) return;
      signalGroup(child.pid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), STOP_GRACE_MS);
      await exit;
      clearTimeout(timer);
    },
  };
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if (error.code !== 'ESRCH') throw error;
  }
}

/**
 * Polls `url` until it answers with a status below 500. Returns the milliseconds waited. Throws when `deadline`
 * (epoch ms) passes or `isAlive()` turns false.
 */
async function waitForHttp(url, { deadline, isAlive = () => true, intervalMs = 1000 }) {
  const started = Date.now();
  let lastProblem = 'no answer yet';
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`the portal exited before ${url} answered (${lastProblem})`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      if (response.status < 500) return Date.now() - started;
      lastProblem = `HTTP ${response.status}`;
    } catch (error) {
      lastProblem = error.cause?.code ?? error.message;
    }
    await new Promise(resolve => setTimeout(resolve, intervalMs));
  }
  throw new Error(`${url} did not answer within the start timeout (last: ${lastProblem})`);
}

module.exports = { startPortal, waitForHttp };
