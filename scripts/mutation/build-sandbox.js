#!/usr/bin/env node
/**
 * StrykerJS's build command, run inside each sandbox: makes the sandbox readable by other users
 * (Stryker creates it 0700; the delete tests run the library as `nobody` to get real EACCES
 * failures), then `npm run build:ts`, so dist/ (which the CLI tests run) holds the mutants.
 */
'use strict';
const { chmodSync } = require('fs');
const { spawnSync } = require('child_process');

chmodSync(process.cwd(), 0o755);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const build = spawnSync(npm, ['run', 'build:ts'], { stdio: 'inherit' });
process.exit(build.status ?? 1);
