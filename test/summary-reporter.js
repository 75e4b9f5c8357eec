/**
 * Jest reporter that ends the run with one plain line, `N passed, N failed, N skipped`, which
 * tools that read test output (CI) understand whatever the runner. Before it, every test skipped
 * because an outside tool is missing is listed with the command that installs the tool
 * (test/helpers/tools.ts writes them to the file named by S3DLIO_TEST_SKIP_LOG).
 */
'use strict';

const { existsSync, readFileSync } = require('fs');
const path = require('path');

/** `tool -> { install, tests: [file: title] }` from the skip log. */
function skippedForTools() {
  const log = process.env.S3DLIO_TEST_SKIP_LOG;
  if (!log || !existsSync(log)) return new Map();
  const byTool = new Map();
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (!line) continue;
    const [tool, install, file, title] = line.split('\t');
    const entry = byTool.get(tool) ?? { install, tests: new Set() };
    entry.tests.add(`${path.relative(process.cwd(), file)}: ${title}`);
    byTool.set(tool, entry);
  }
  return byTool;
}

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const missing = skippedForTools();
    if (missing.size > 0) {
      const lines = ['', '!! SKIPPED: these tests need tools that are not installed on this machine:'];
      for (const [tool, { install, tests }] of missing) {
        lines.push(`!!   ${tool} (install: ${install}), ${tests.size} test group(s):`);
        for (const test of tests) lines.push(`!!     - ${test}`);
      }
      lines.push('!! Install them (README "Testing") to run every check; CI installs them and skips nothing.');
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    const skipped = results.numPendingTests + results.numTodoTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    process.stdout.write(`\n${results.numPassedTests} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}

module.exports = SummaryReporter;
