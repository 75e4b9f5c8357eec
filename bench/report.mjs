// Renders the report of a bench suite results file again (e.g. one from another machine):
//
//   npm run bench:report -- results.json [--out DIR]
//
// Writes DIR/report.html and DIR/summary.md (default: beside the results file) and prints the
// text summary.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { parseArgs } from './lib/util.mjs';
import { RESULTS_SCHEMA } from './suite/results.mjs';
import { markdownSummary } from './suite/markdown.mjs';
import { renderHtml, textSummary } from './suite/report.mjs';

const [file, ...rest] = process.argv.slice(2);
let args;
try {
  if (!file || file.startsWith('-')) throw new Error('name a results.json file');
  args = parseArgs(rest, { out: { type: 'string', default: path.dirname(file) } });
} catch (error) {
  process.stderr.write(`bench:report: ${error.message}\nusage: npm run bench:report -- results.json [--out DIR]\n`);
  process.exit(2);
}
let results;
try {
  results = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  process.stderr.write(`bench:report: ${error.message}\n`);
  process.exit(2);
}
if (results?.schema !== RESULTS_SCHEMA || !Array.isArray(results.cases)) {
  process.stderr.write(`bench:report: ${file} is not a bench suite results file (schema ${RESULTS_SCHEMA})\n`);
  process.exit(2);
}
mkdirSync(args.out, { recursive: true }); // as the suite does with its --out
const html = path.join(args.out, 'report.html');
writeFileSync(html, renderHtml(results));
writeFileSync(path.join(args.out, 'summary.md'), markdownSummary(results));
process.stdout.write(`${textSummary(results)}\n\nReport: ${html}\n`);
