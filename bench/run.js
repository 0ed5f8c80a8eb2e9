#!/usr/bin/env node
/* Runs one benchmark: `npm run bench -- <name> [args]` executes bench/<name>.ts with Backstage's TypeScript
 * transform for Node (the one `backstage-cli package start` uses). Benchmarks print `name=value` lines. */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const [name, ...args] = process.argv.slice(2);
const available = fs
  .readdirSync(__dirname)
  .filter(file => file.endsWith('.ts'))
  .map(file => file.slice(0, -3));
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name>; available: ${available.join(', ') || 'none'}`);
  process.exit(2);
}
const result = spawnSync(
  process.execPath,
  ['-r', '@backstage/cli/config/nodeTransform.cjs', path.join(__dirname, `${name}.ts`), ...args],
  { stdio: 'inherit', cwd: path.resolve(__dirname, '..') },
);
process.exit(result.status ?? 1);
