#!/usr/bin/env node
'use strict';
// Hash of everything that determines the native binary (native/ sources + binding.gyp).
// binding.gyp embeds it in the addon; lib/native.ts and the tests compare it with the sources
// so a stale build/ or prebuild can never run silently.
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

function nativeSourceHash(root) {
  const hash = crypto.createHash('sha256');
  const nativeDir = path.join(root, 'native');
  const files = fs
    .readdirSync(nativeDir)
    .filter((name) => /\.(cc|h)$/.test(name))
    .sort()
    .map((name) => path.join('native', name));
  for (const rel of ['binding.gyp', ...files]) {
    // Normalise line endings so a Windows checkout hashes the same.
    const text = fs.readFileSync(path.join(root, rel), 'utf8').replace(/\r\n/g, '\n');
    hash.update(rel.replace(/\\/g, '/')).update('\0').update(text).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

module.exports = { nativeSourceHash };

if (require.main === module) {
  process.stdout.write(nativeSourceHash(path.resolve(__dirname, '..')));
}
