#!/usr/bin/env node
/**
 * Checks the layer rules of lib/README.md over the import graph of lib/: every module is in a
 * layer, no module imports from a layer above its own, and no import chain is a loop. Type-only
 * imports count: a contract that names a type from above is not a leaf.
 *
 *   node scripts/architecture.cjs     (prints the findings, exits 1 if there are any)
 */
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');

/**
 * The layers of the table in a README: `[{ index, name, entries }]`, top first. An entry is a
 * path relative to lib/: a file (`api.ts`) or a folder (`cli/`).
 */
function layersFrom(markdown) {
  const layers = [];
  for (const line of markdown.split('\n')) {
    const row = /^\|\s*(\d+)\s*\|\s*([a-z-]+)\s*\|([^|]*)\|/.exec(line);
    if (!row) continue;
    const entries = [...row[3].matchAll(/`([^`]+)`/g)].map((match) => match[1]);
    layers.push({ index: Number(row[1]), name: row[2], entries });
  }
  return layers;
}

/** The layer of `file` (relative to lib/): the one whose entry names it most specifically. */
function layerOf(layers, file) {
  let best;
  for (const layer of layers) {
    for (const entry of layer.entries) {
      const matches = entry.endsWith('/') ? file.startsWith(entry) : file === entry;
      if (matches && (!best || entry.length > best.entry.length)) best = { layer, entry };
    }
  }
  return best?.layer;
}

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:import|require)\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The lib/-relative modules a source file imports (relative specifiers only). */
function importsOf(source, file, exists) {
  const found = new Set();
  const text = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  for (const match of text.matchAll(IMPORT)) {
    const spec = match[1] ?? match[2];
    if (!spec.startsWith('.')) continue;
    const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
    const candidates = [resolved, `${resolved}.ts`, `${resolved.replace(/\.js$/, '')}.ts`, `${resolved}/index.ts`];
    const target = candidates.find((candidate) => exists(candidate));
    if (target) found.add(target);
  }
  return [...found];
}

/** Every loop of the graph, each once, as the list of modules around it. */
function cyclesOf(graph) {
  const cycles = [];
  const state = new Map(); // module -> 'open' | 'done'
  const stack = [];
  const visit = (node) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

/**
 * The findings for a set of modules: `files` maps each lib/-relative path to its source text.
 * Returns `{ unassigned, upward, cycles }`, each a list of readable lines.
 */
function check(layers, files) {
  const exists = (candidate) => Object.prototype.hasOwnProperty.call(files, candidate);
  const graph = new Map();
  const unassigned = [];
  const upward = [];
  for (const file of Object.keys(files).sort()) {
    const imports = importsOf(files[file], file, exists);
    graph.set(file, imports);
    const own = layerOf(layers, file);
    if (!own) {
      unassigned.push(`${file} is in no layer of lib/README.md`);
      continue;
    }
    for (const target of imports) {
      const theirs = layerOf(layers, target);
      if (theirs && theirs.index < own.index) {
        upward.push(`${file} (${own.name}) imports ${target} (${theirs.name}, a layer above)`);
      }
    }
  }
  const cycles = cyclesOf(graph).map((cycle) => `loop: ${cycle.join(' -> ')}`);
  return { unassigned, upward, cycles };
}

/** The .ts sources under lib/, by lib/-relative path. */
function libSources(libDir = path.join(root, 'lib')) {
  const files = {};
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) {
        files[path.relative(libDir, full).split(path.sep).join('/')] = fs.readFileSync(full, 'utf8');
      }
    }
  };
  walk(libDir);
  return files;
}

module.exports = { layersFrom, layerOf, importsOf, cyclesOf, check, libSources };

if (require.main === module) {
  const layers = layersFrom(fs.readFileSync(path.join(root, 'lib/README.md'), 'utf8'));
  const { unassigned, upward, cycles } = check(layers, libSources());
  const findings = [...unassigned, ...upward, ...cycles];
  for (const line of findings) console.log(line);
  console.log(findings.length === 0 ? 'lib/: no loop, no upward import' : `${findings.length} findings`);
  process.exitCode = findings.length === 0 ? 0 : 1;
}
