#!/usr/bin/env node
'use strict';
// The compiled CLI (npm run build in the repository; the published package ships dist/).
const { run } = require('../dist/main');

// `attestor keys jwks | head -1` closes the pipe early: the reader's choice, not an error to report.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

// The first Ctrl-C asks the command to stop: `log --follow` ends cleanly, an upload stops and
// says so. A second one ends the process at once, for a command that does not listen.
const interrupt = new AbortController();
process.on('SIGINT', () => {
  if (interrupt.signal.aborted) process.exit(130);
  interrupt.abort();
});

run({ argv: process.argv.slice(2), env: process.env, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr, signal: interrupt.signal }).then(
  (code) => {
    // exitCode rather than exit(): a piped stdout is flushed before the process ends.
    process.exitCode = code;
  },
);
