// Compares two bench suite results, case by case:
//
//   npm run bench:compare -- A.json B.json
//
// A change is marked (better/worse) only where the spreads of the repetitions (min..max) of the
// two runs do not overlap; otherwise it is within the noise. Exit 2 on a usage error.
import { readFileSync } from 'node:fs';

import { fmtNumber, renderTable } from './lib/util.mjs';
import { compareResults } from './suite/results.mjs';

const files = process.argv.slice(2);
if (files.length !== 2 || files.some((file) => file.startsWith('-'))) {
  process.stderr.write('usage: npm run bench:compare -- A.json B.json (two results.json files of `npm run bench`)\n');
  process.exit(2);
}
let a;
let b;
try {
  [a, b] = files.map((file) => JSON.parse(readFileSync(file, 'utf8')));
} catch (error) {
  process.stderr.write(`bench:compare: ${error.message}\n`);
  process.exit(2);
}
let rows;
try {
  rows = compareResults(a, b);
} catch (error) {
  process.stderr.write(`bench:compare: ${error.message}\n`);
  process.exit(2);
}
const figure = (row) =>
  row ? `${fmtNumber(row.median, 1)} (${fmtNumber(row.min, 1)}..${fmtNumber(row.max, 1)})` : '-';
const mark = {
  better: 'BETTER',
  worse: 'WORSE',
  'within spread': '~',
  'only in A': 'only in A',
  'only in B': 'only in B',
};
console.log(`A: ${files[0]} (${a.date}, ${a.machine?.gitCommit?.slice(0, 10)})`);
console.log(`B: ${files[1]} (${b.date}, ${b.machine?.gitCommit?.slice(0, 10)})`);
console.log(
  renderTable(
    ['case', 'metric', 'A median (spread)', 'B median (spread)', 'change', 'verdict'],
    rows.map((row) => [
      row.id,
      (row.after ?? row.before).metric,
      figure(row.before),
      figure(row.after),
      row.change === undefined ? '' : `${row.change >= 0 ? '+' : ''}${fmtNumber(row.change * 100, 1)}%`,
      mark[row.status],
    ]),
    [2, 3, 4],
  ),
);
const count = (status) => rows.filter((row) => row.status === status).length;
console.log(
  `\n${count('better')} better, ${count('worse')} worse (spreads apart), ${count('within spread')} within the spread of the repetitions`,
);
