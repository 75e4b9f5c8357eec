/**
 * The layers of lib/README.md hold over lib/: every module is in a layer, none imports from a
 * layer above, and no import chain loops. The checker (scripts/architecture.cjs) is tried on
 * small made-up trees first, so that a clean result on lib/ means something.
 */
import { readFileSync } from 'fs';
import * as path from 'path';

import { REPO_ROOT } from '../helpers/child';

interface Layer {
  index: number;
  name: string;
  entries: string[];
}
interface Findings {
  unassigned: string[];
  upward: string[];
  cycles: string[];
}
const architecture = require(path.join(REPO_ROOT, 'scripts/architecture.cjs')) as {
  layersFrom(markdown: string): Layer[];
  check(layers: Layer[], files: Record<string, string>): Findings;
  libSources(): Record<string, string>;
};

const LAYERS = architecture.layersFrom(
  [
    '| # | layer | modules | what |',
    '| - | ----- | ------- | ---- |',
    '| 1 | top | `app.ts`, `cli/` | x |',
    '| 2 | middle | `engine/`, `util/special.ts` | x |',
    '| 3 | bottom | `contract.ts`, `util/` | x |',
  ].join('\n'),
);

describe('the checker', () => {
  test('reads the layer table: numbers, names and entries', () => {
    expect(LAYERS).toEqual([
      { index: 1, name: 'top', entries: ['app.ts', 'cli/'] },
      { index: 2, name: 'middle', entries: ['engine/', 'util/special.ts'] },
      { index: 3, name: 'bottom', entries: ['contract.ts', 'util/'] },
    ]);
  });

  test('a tree that only imports downward or sideways has no finding', () => {
    const files = {
      'app.ts': "import { a } from './engine/a';\nimport type { C } from './contract';",
      'cli/main.ts': "import { run } from '../app';",
      'engine/a.ts': "import { b } from './b';\nexport { helper } from '../util/helper';",
      'engine/b.ts': "import type { C } from '../contract';",
      'contract.ts': "import { helper } from './util/helper';",
      'util/helper.ts': 'export const helper = 1;',
    };
    expect(architecture.check(LAYERS, files)).toEqual({ unassigned: [], upward: [], cycles: [] });
  });

  test.each([
    ['a type-only import', "import type { A } from './engine/a';"],
    ['a re-export', "export { a } from './engine/a';"],
    ['a dynamic import', "const a = import('./engine/a');"],
    ['a require', "const a = require('./engine/a');"],
  ])('an upward import is reported, even as %s', (_kind, source) => {
    const findings = architecture.check(LAYERS, { 'contract.ts': source, 'engine/a.ts': '' });
    expect(findings.upward).toEqual(['contract.ts (bottom) imports engine/a.ts (middle, a layer above)']);
  });

  test('the most specific entry decides: util/special.ts is in the middle layer', () => {
    const files = { 'util/special.ts': "import { a } from '../engine/a';", 'engine/a.ts': '', 'util/plain.ts': '' };
    expect(architecture.check(LAYERS, files).upward).toEqual([]);
    const plain = { 'util/plain.ts': "import { a } from '../engine/a';", 'engine/a.ts': '' };
    expect(architecture.check(LAYERS, plain).upward).toHaveLength(1);
  });

  test('a loop is reported once with its path, even inside one layer', () => {
    const files = {
      'engine/a.ts': "import { b } from './b';",
      'engine/b.ts': "import { c } from './c';",
      'engine/c.ts': "import { a } from './a';",
    };
    expect(architecture.check(LAYERS, files).cycles).toEqual([
      'loop: engine/a.ts -> engine/b.ts -> engine/c.ts -> engine/a.ts',
    ]);
  });

  test('a module in no layer is reported; imports in comments and of packages are not', () => {
    const files = {
      'stray.ts': "// import { a } from './engine/a';\n/* import('./engine/a') */\nimport { x } from 'stream';",
      'engine/a.ts': "import { s } from '../stray';",
    };
    expect(architecture.check(LAYERS, files)).toEqual({
      unassigned: ['stray.ts is in no layer of lib/README.md'],
      upward: [],
      cycles: [],
    });
  });
});

test('lib/ follows the layers of lib/README.md: every module in a layer, no upward import, no loop', () => {
  const layers = architecture.layersFrom(readFileSync(path.join(REPO_ROOT, 'lib/README.md'), 'utf8'));
  expect(layers.map((layer) => layer.name)).toEqual([
    'entry',
    'application',
    'stores',
    'backends',
    'engine',
    'data',
    'contract',
    'foundation',
  ]);
  const sources = architecture.libSources();
  expect(Object.keys(sources).length).toBeGreaterThan(50);
  expect(architecture.check(layers, sources)).toEqual({ unassigned: [], upward: [], cycles: [] });
});
