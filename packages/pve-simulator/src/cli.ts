import { parseArgs } from 'node:util';
import path from 'node:path';
import fs from 'node:fs';
import { defaultApidocPath } from './schema/apidoc';
import { startPveSimulator, ValidationMode } from './simulator';

const USAGE = `usage: npm run simulator -- [--http] [--host ADDR] [--port N] [--topology FILE]
       [--token 'user@realm!id=UUID'] [--speed N] [--schema builtin|apidoc|FILE]

  --http       plain HTTP instead of HTTPS with a self-signed certificate
  --port       default 8006
  --speed      task speed factor (10 = ten times faster); default 1
  --schema     request validation rules: built-in (default), the official schema
               (apidoc: $PVE_APIDOC or ../shared/data/pve-apidoc.json), or a file`;

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      http: { type: 'boolean', default: false },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8006' },
      topology: { type: 'string' },
      token: { type: 'string' },
      speed: { type: 'string', default: '1' },
      schema: { type: 'string', default: 'builtin' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const speed = Number(values.speed);
  const port = Number(values.port);
  if (!(speed > 0) || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad --speed or --port\n${USAGE}`);
  let validation: ValidationMode = 'builtin';
  if (values.schema !== 'builtin') {
    // eslint-disable-next-line no-restricted-syntax -- a dev tool run from the repository checkout (bin/pve-simulator.js), never from a build
    const repoRoot = path.resolve(__dirname, '..', '..', '..');
    const file = values.schema === 'apidoc' ? defaultApidocPath(repoRoot) : path.resolve(values.schema!);
    if (!fs.existsSync(file)) throw new Error(`schema file ${file} not found`);
    validation = { apidoc: file };
  }
  const sim = await startPveSimulator({
    http: values.http,
    host: values.host,
    port,
    topology: values.topology ? path.resolve(values.topology) : undefined,
    tokens: values.token ? [values.token] : undefined,
    speed,
    validation,
  });
  const lines = [
    `PVE simulator (cluster '${sim.state.clusterName}', ${sim.state.nodes.size} nodes, ${sim.state.guests.size} guests)`,
    `url: ${sim.url}/api2/json`,
    `token: ${sim.token}`,
    `header: Authorization: PVEAPIToken=${sim.token}`,
    ...(sim.fingerprint ? [`fingerprint: ${sim.fingerprint}`] : []),
    `validation: ${typeof validation === 'string' ? 'built-in rules' : validation.apidoc}; speed: ${speed}x`,
    `faults: POST ${sim.url}/_sim/faults (same token)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const stop = () => {
    sim.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch(error => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  });
}
