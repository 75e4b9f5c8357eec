#!/usr/bin/env node
/**
 * Reads reports/mutation/report.json (StrykerJS's JSON report) and prints the mutation score per
 * scope: the scored folders (bar: 80%) and lib/backends (reported only), then every mutant
 * ignored by a `// Stryker disable` comment with its reason, and the survivors of the scored
 * scope. Exits 1 when the scored scope is under the bar.
 */
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '../..');
const BAR = 80;
const SCOPES = [
  {
    name: 'scored (internal, engine, uri, loader, formats, cloud)',
    test: (f) => !f.startsWith('lib/backends/'),
    bar: BAR,
  },
  { name: 'lib/backends (reported, no bar)', test: (f) => f.startsWith('lib/backends/') },
];

const reportFile = path.join(root, 'reports/mutation/report.json');
const report = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
const files = Object.entries(report.files).map(([file, data]) => [path.relative(root, path.resolve(root, file)), data]);

function tally(entries) {
  const count = {};
  for (const [, data] of entries) for (const m of data.mutants) count[m.status] = (count[m.status] ?? 0) + 1;
  const detected = (count.Killed ?? 0) + (count.Timeout ?? 0);
  const valid = detected + (count.Survived ?? 0) + (count.NoCoverage ?? 0);
  return { count, score: valid === 0 ? 100 : (100 * detected) / valid, valid };
}

let failed = false;
for (const scope of SCOPES) {
  const entries = files.filter(([file]) => scope.test(file));
  const { count, score, valid } = tally(entries);
  const bar =
    scope.bar === undefined ? '' : score >= scope.bar ? ` (bar ${scope.bar}%: met)` : ` (bar ${scope.bar}%: NOT met)`;
  if (scope.bar !== undefined && score < scope.bar) failed = true;
  console.log(`\n${scope.name}: ${score.toFixed(1)}% of ${valid} mutants${bar}`);
  console.log(
    `  ${Object.entries(count)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  const perFile = entries.map(([file, data]) => [file, tally([[file, data]])]).sort((a, b) => a[1].score - b[1].score);
  for (const [file, t] of perFile)
    console.log(`  ${t.score.toFixed(1).padStart(5)}%  ${String(t.valid).padStart(4)}  ${file}`);
}

const accepted = files.flatMap(([file, data]) =>
  data.mutants
    .filter((m) => m.status === 'Ignored' && !/error-message-ignorer/.test(m.statusReason ?? ''))
    .map((m) => `  ${file}:${m.location.start.line} ${m.mutatorName}: ${m.statusReason ?? ''}`),
);
console.log(`\nAccepted as equivalent (\`// Stryker disable\` with a reason): ${accepted.length}`);
for (const line of accepted) console.log(line);
process.exit(failed ? 1 : 0);
