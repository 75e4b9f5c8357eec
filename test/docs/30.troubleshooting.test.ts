/**
 * docs/troubleshooting.md explains every error code the library raises: each code of ERROR_CODES
 * has a row of its own (cause and what to do), and the table names no code that does not exist.
 */
import { readFileSync } from 'fs';
import * as path from 'path';

import { ERROR_CODES } from '../../lib/errors';
import { REPO_ROOT } from '../helpers/child';

const page = readFileSync(path.join(REPO_ROOT, 'docs', 'troubleshooting.md'), 'utf8');

/** The codes in the first column of the error table, one row each. */
function tableCodes(): string[] {
  const table = page.slice(page.indexOf('| code | what causes it | what to do |'));
  return [...table.matchAll(/^\| `(ERR_[A-Z0-9_]+)` \|[^|\n]+\|[^|\n]+\|$/gm)].map((match) => match[1]);
}

test('every error code has a row with its cause and what to do', () => {
  const listed = tableCodes();
  expect(ERROR_CODES.filter((code) => !listed.includes(code))).toEqual([]);
});

test('the table names each code once, and only codes the library has', () => {
  const listed = tableCodes();
  expect(listed.filter((code) => !(ERROR_CODES as readonly string[]).includes(code))).toEqual([]);
  expect(listed.filter((code, index) => listed.indexOf(code) !== index)).toEqual([]);
});
