#!/usr/bin/env node
'use strict';
// Builds the addon from source with node-gyp, offline: it points node-gyp at the headers of the
// running Node (<prefix>/include/node) when they are installed, so nothing is downloaded.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const prefix = path.dirname(path.dirname(process.execPath));
const haveLocalHeaders = fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'));
const nodeGyp = process.env.npm_config_node_gyp || require.resolve('node-gyp/bin/node-gyp.js');
const args = [nodeGyp, 'rebuild', ...process.argv.slice(2)];
if (haveLocalHeaders && !process.env.npm_config_nodedir) args.push(`--nodedir=${prefix}`);

const result = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: path.resolve(__dirname, '..') });
process.exit(result.status === null ? 1 : result.status);
