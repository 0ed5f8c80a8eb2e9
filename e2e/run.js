#!/usr/bin/env node
/*
 * `npm run e2e`: starts the portal the README's way (scripts/start.js) unless E2E_BASE_URL points at a running one,
 * waits until the frontend (:3000) and the backend (:7007) serve, runs the browser tests in e2e/tests/*.e2e.js with
 * node:test, stops the portal and exits non-zero on any failure. Screenshots go to e2e-screenshots/.
 *
 * Environment: E2E_BASE_URL (frontend of a running portal), E2E_BACKEND_URL (default http://localhost:7007),
 * E2E_START_TIMEOUT_S (default 600), E2E_CHROMIUM (default /usr/bin/chromium).
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { startPortal, waitForHttp } = require('./lib/portal');

const root = path.resolve(__dirname, '..');
const frontendUrl = process.env.E2E_BASE_URL ?? 'http://localhost:3000';
const backendUrl = process.env.E2E_BACKEND_URL ?? 'http://localhost:7007';
const startTimeoutMs = Number(process.env.E2E_START_TIMEOUT_S ?? 600) * 1000;
const portalLog = path.join(root, '.data', 'e2e-portal.log');

function log(message) {
  console.log(`[e2e] ${message}`);
}

function runTests() {
  const files = fs
    .readdirSync(path.join(__dirname, 'tests'))
    .filter(name => name.endsWith('.e2e.js'))
    .map(name => path.join(__dirname, 'tests', name));
  return new Promise(resolve => {
    const child = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, E2E_BASE_URL: frontendUrl },
    });
    child.on('exit', code => resolve(code ?? 1));
  });
}

/** A portal already listening would be tested instead of this checkout's; refuse rather than guess. */
async function assertPortsFree(urls) {
  for (const url of urls) {
    const answered = await fetch(url, { signal: AbortSignal.timeout(3000) }).then(
      () => true,
      () => false,
    );
    if (answered) {
      throw new Error(`${url} already answers: stop that portal first, or set E2E_BASE_URL to test it`);
    }
  }
}

function printLogTail(file, lines = 40) {
  if (!fs.existsSync(file)) return;
  const tail = fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  console.error(`[e2e] last ${lines} lines of ${path.relative(root, file)}:\n${tail}`);
}

async function main() {
  fs.rmSync(path.join(root, 'e2e-screenshots'), { recursive: true, force: true });
  let portal;
  const stopPortal = async () => {
    if (portal) {
      log('stopping the portal');
      await portal.stop();
    }
  };
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => stopPortal().finally(() => process.exit(1)));
  }

  let exitCode = 1;
  try {
    const deadline = Date.now() + startTimeoutMs;
    if (process.env.E2E_BASE_URL) {
      log(`using the running portal at ${frontendUrl}`);
    } else {
      await assertPortsFree([frontendUrl, backendUrl]);
      fs.rmSync(portalLog, { force: true });
      log(`starting the portal (scripts/start.js), output in ${path.relative(root, portalLog)}`);
      portal = startPortal({ root, logFile: portalLog });
    }
    const isAlive = () => !portal || !portal.hasExited();
    const [frontendMs, backendMs] = await Promise.all([
      waitForHttp(frontendUrl, { deadline, isAlive }),
      waitForHttp(`${backendUrl}/.backstage/health/v1/readiness`, { deadline, isAlive }),
    ]);
    log(`frontend served after ${(frontendMs / 1000).toFixed(1)}s, backend ready after ${(backendMs / 1000).toFixed(1)}s`);

    exitCode = await runTests();
    if (exitCode !== 0 && portal) printLogTail(portalLog);
  } catch (error) {
    console.error(`[e2e] ${error.message}`);
    if (portal) printLogTail(portalLog);
    exitCode = 1;
  } finally {
    await stopPortal();
  }
  log(exitCode === 0 ? 'passed' : 'FAILED');
  process.exit(exitCode);
}

main();
