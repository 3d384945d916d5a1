#!/usr/bin/env node
'use strict';
// The CLI is TypeScript run through tsx's require hook: no build step, and tsx caches the
// transpiled files, so a warm start costs little more than loading the modules.
require('tsx/cjs');
const { run } = require('./main.ts');

run({ argv: process.argv.slice(2), env: process.env, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    // exitCode rather than exit(): a piped stdout is flushed before the process ends.
    process.exitCode = code;
  },
);
