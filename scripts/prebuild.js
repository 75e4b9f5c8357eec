#!/usr/bin/env node
'use strict';
// `prebuildify --napi --strip` for this platform, against the local Node headers (offline).
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const prefix = path.dirname(path.dirname(process.execPath));
const env = { ...process.env };
if (!env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) {
  env.npm_config_nodedir = prefix;
}
const bin = require.resolve('prebuildify/bin.js');
const result = spawnSync(process.execPath, [bin, '--napi', '--strip', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env,
  cwd: path.resolve(__dirname, '..'),
});
process.exit(result.status === null ? 1 : result.status);
