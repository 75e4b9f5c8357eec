/**
 * The code a worker thread of the library starts with: its compiled module beside the caller in
 * dist/, or, when the library runs from its TypeScript sources (the test suite), the source
 * compiled as it is loaded (as ts-jest does).
 */
import { existsSync } from 'fs';
import { join } from 'path';

/** `require` of `name` (.js, else .ts) in `dir`, as eval-able code; undefined when neither exists. */
export function workerScript(dir: string, name: string): string | undefined {
  const compiled = join(dir, `${name}.js`);
  if (existsSync(compiled)) return `require(${JSON.stringify(compiled)})`;
  const source = join(dir, `${name}.ts`);
  if (!existsSync(source)) return undefined;
  return `
    const ts = require('typescript');
    require.extensions['.ts'] = (module, filename) => {
      const text = require('fs').readFileSync(filename, 'utf8');
      const options = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true };
      module._compile(ts.transpileModule(text, { fileName: filename, compilerOptions: options }).outputText, filename);
    };
    require(${JSON.stringify(source)});`;
}
