#!/usr/bin/env node
/* eslint-disable */
// Runs the TypeScript sources directly through Backstage's node transform.
require('@backstage/cli/config/nodeTransform.cjs');
require('../src/cli.ts')
  .main(process.argv.slice(2))
  .catch(error => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
