#!/usr/bin/env node
'use strict';
// The `s3dlio` command (package "bin"); the code is lib/cli, compiled to dist/cli.
require('../dist/cli/main.js').run();
