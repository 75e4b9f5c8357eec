/**
 * The README's API section stays true to lib/index.ts: its table names every runtime export (and
 * nothing that is not one), and its list of synchronous exports is exactly the exported functions
 * whose return type is not a Promise (read from the types with the TypeScript compiler).
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

import * as library from '../../lib';
import { REPO_ROOT } from '../helpers/child';

const README = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

/** The `## API` section, up to its first sub-heading. */
function apiSection(): string {
  const start = README.indexOf('\n## API\n');
  expect(start).toBeGreaterThan(0);
  const end = README.indexOf('\n### ', start);
  return README.slice(start, end);
}

/** The names the first column of the API's function table gives: each code span's leading identifier. */
function tableNames(): Set<string> {
  const section = apiSection();
  const table = section.slice(section.indexOf('| function | what it does |'));
  const names = new Set<string>();
  for (const line of table.split('\n')) {
    if (!line.startsWith('|')) break;
    const firstCell = line.split(' | ')[0];
    for (const span of firstCell.matchAll(/`([^`]+)`/g)) {
      const name = /^(?:new\s+)?([A-Za-z_$][\w$]*)/.exec(span[1])?.[1];
      if (name) names.add(name);
    }
  }
  return names;
}

/** The exported functions of lib/index.ts whose return type is not a Promise. */
function synchronousExports(): string[] {
  const entry = path.join(REPO_ROOT, 'lib', 'index.ts');
  const program = ts.createProgram([entry], {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry) as ts.SourceFile;
  const moduleSymbol = checker.getSymbolAtLocation(source) as ts.Symbol;
  const sync: string[] = [];
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    if (!(symbol.flags & ts.SymbolFlags.Function)) continue;
    const signatures = checker.getTypeOfSymbolAtLocation(symbol, source).getCallSignatures();
    const returnsPromise = signatures.every((signature) => {
      const returned = checker.getReturnTypeOfSignature(signature);
      return returned.getSymbol()?.getName() === 'Promise';
    });
    if (!returnsPromise) sync.push(exported.getName());
  }
  return sync.sort();
}

test('the API table names every runtime export of lib/index.ts, and only those', () => {
  const exported = Object.keys(library).sort();
  const named = tableNames();
  expect(exported.filter((name) => !named.has(name))).toEqual([]); // exports the table leaves out
  expect([...named].filter((name) => !(name in library)).sort()).toEqual([]); // names that are not exports
});

test('the README names exactly the synchronous exports', () => {
  const section = apiSection();
  const paragraph = section.slice(
    section.indexOf('These exports'),
    section.indexOf('\n\n', section.indexOf('These exports')),
  );
  const listed = [...paragraph.matchAll(/`([A-Za-z_$][\w$]*)`/g)].map((match) => match[1]);
  // `write`, `close` and `abort` are the writer's methods, not exports.
  const named = listed.filter((name) => name in library).sort();
  expect(named).toEqual(synchronousExports());
});
