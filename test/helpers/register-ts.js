/**
 * Lets a plain `node` child process require the TypeScript sources in lib/ directly
 * (`node -r ./test/helpers/register-ts.js -e "require('<repo>/lib')"`), so child-process tests
 * exercise exactly the code the in-process suites test, without building dist/.
 */
'use strict';
const fs = require('fs');
const ts = require('typescript');

require.extensions['.ts'] = function compileTs(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      inlineSourceMap: true,
    },
  });
  module._compile(outputText, filename);
};
