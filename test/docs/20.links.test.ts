/**
 * The documentation's links lead somewhere: every relative link of README.md, CHANGELOG.md,
 * CONTRIBUTING.md and docs/ names a file of the repository, and every `#anchor` a heading of the
 * page it names (as GitHub makes anchors of headings).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'fs';
import * as path from 'path';

import { REPO_ROOT } from '../helpers/child';

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
export function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The Markdown without its fenced code blocks (a `#` there is no heading, a `](` no link). */
function prose(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');
}

function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const match of prose(readFileSync(file, 'utf8')).matchAll(/^#{1,6} (.+)$/gm)) {
    const base = anchorOf(match[1]);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

function pages(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'api' ? [] : pages(full);
    return entry.name.endsWith('.md') ? [full] : [];
  });
}

const files = [
  ...['README.md', 'CHANGELOG.md', 'CONTRIBUTING.md'].map((name) => path.join(REPO_ROOT, name)),
  ...pages(path.join(REPO_ROOT, 'docs')),
];

test.each(files.map((file) => [path.relative(REPO_ROOT, file), file]))('every link of %s resolves', (_name, file) => {
  const broken: string[] = [];
  for (const match of prose(readFileSync(file, 'utf8')).matchAll(/\]\(([^)\s]+)\)/g)) {
    const link = match[1];
    if (/^[a-z]+:/i.test(link)) continue; // https:, mailto:
    const [target, anchor] = link.split('#') as [string, string | undefined];
    const resolved = target === '' ? file : path.resolve(path.dirname(file), target);
    if (!existsSync(resolved)) {
      broken.push(`${link}: no such file`);
      continue;
    }
    if (anchor !== undefined && statSync(resolved).isFile() && !anchors(resolved).has(anchor)) {
      broken.push(`${link}: no heading with that anchor in ${path.relative(REPO_ROOT, resolved)}`);
    }
  }
  expect(broken).toEqual([]);
});

test('anchors are made as GitHub makes them', () => {
  expect(anchorOf('Your own backend: `registerStore`')).toBe('your-own-backend-registerstore');
  expect(anchorOf('Google Cloud Storage (gs://, gcs://)')).toBe('google-cloud-storage-gs-gcs');
  expect(anchorOf('I/O threads: object bodies over several cores')).toBe('io-threads-object-bodies-over-several-cores');
});
