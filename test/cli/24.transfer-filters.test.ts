/**
 * --include/--exclude as `aws s3` applies them: the last matching filter wins, everything is
 * included by default, patterns match the whole relative path with fnmatch's syntax. Python's
 * fnmatch (what the AWS CLI calls) is the independent reference for single patterns.
 */
import { spawnSync } from 'child_process';

import { type FilterRule, PathFilter, filterOption, filterRules } from '../../lib/cli/filters';
import { CliUsageError } from '../../lib/cli/usage-error';
import { describeWith } from '../helpers/tools';

const exclude = (pattern: string): FilterRule => ({ kind: 'exclude', pattern });
const include = (pattern: string): FilterRule => ({ kind: 'include', pattern });

const PATHS = ['a.bin', 'b.txt', 'sub/c.bin', 'sub/deep/d.txt', '.hidden', 'sub/.env', 'x[1].bin', 'ünï cödé.txt'];

describe('filter rules: order and last-match-wins', () => {
  test.each<[string, FilterRule[], string[]]>([
    ['no filter: everything', [], PATHS],
    ['an include alone changes nothing (all are included already)', [include('*.bin')], PATHS],
    ['exclude everything', [exclude('*')], []],
    [
      'exclude all, then include *.bin: only .bin at any depth',
      [exclude('*'), include('*.bin')],
      ['a.bin', 'sub/c.bin', 'x[1].bin'],
    ],
    ['include *.bin, then exclude all: the later exclude wins', [include('*.bin'), exclude('*')], []],
    [
      'exclude a directory, include one file back',
      [exclude('sub/*'), include('sub/deep/d.txt')],
      ['a.bin', 'b.txt', 'sub/deep/d.txt', '.hidden', 'x[1].bin', 'ünï cödé.txt'],
    ],
    ['* matches dotfiles and / (as fnmatch)', [exclude('*'), include('*env')], ['sub/.env']],
    ['** is the same as *', [exclude('**.txt')], ['a.bin', 'sub/c.bin', '.hidden', 'sub/.env', 'x[1].bin']],
    ['a pattern matches the whole path, not a part', [exclude('c.bin')], PATHS],
    ['? is one character', [exclude('?.bin')], PATHS.filter((p) => p !== 'a.bin')],
    [
      '[abc] a set, [!abc] its complement',
      [exclude('[ab].*'), include('[!a].txt')],
      PATHS.filter((p) => p !== 'a.bin'),
    ],
    ['a [ without ] is a plain character', [exclude('x[1*')], PATHS.filter((p) => p !== 'x[1].bin')],
    ['unicode and spaces are plain characters', [exclude('ünï *')], PATHS.filter((p) => p !== 'ünï cödé.txt')],
    [
      'regex characters are plain characters',
      [exclude('a.b*'), exclude('(b).txt')],
      PATHS.filter((p) => p !== 'a.bin'),
    ],
    ['case-sensitive', [exclude('*.BIN')], PATHS],
  ])('%s', (_name, rules, included) => {
    const filter = new PathFilter(rules);
    expect(PATHS.filter((p) => filter.includes(p))).toEqual(included);
    // The single RegExp handed to the library's `pattern` options decides the same.
    const regex = filter.toRegExp();
    expect(PATHS.filter((p) => regex.test(p))).toEqual(included);
  });

  test('a bad pattern is a usage error naming it', () => {
    expect(() => new PathFilter([include('[z-a]')])).toThrow(CliUsageError);
    expect(() => new PathFilter([include('[z-a]')])).toThrow(/--include \[z-a\]: not a valid pattern/);
  });

  test('--include and --exclude come back in command-line order', () => {
    const include1 = filterOption('include');
    const exclude1 = filterOption('exclude');
    // As commander calls the parsers for: --exclude '*' --include '*.bin' --exclude 'tmp/*'
    const excludes = exclude1('tmp/*', exclude1('*'));
    const includes = include1('*.bin');
    // The numbering follows parse order: here the second --exclude was parsed last.
    expect(filterRules({ include: includes, exclude: excludes })).toEqual([
      exclude('*'),
      exclude('tmp/*'),
      include('*.bin'),
    ]);
  });
});

describeWith(['python3'], 'single patterns match as Python fnmatch (what aws s3 calls)', () => {
  const patterns = ['*', '*.bin', 'sub/*', '?.txt', '[ab]*', '[!a]*', '*[*', 'x[1*', '[]]*', '**/*.txt', '.*', '*/.*'];
  const paths = [...PATHS, ']x', 'sub/deep/.e.txt', '*', '[', 'sub/'];

  test('every pattern against every path', () => {
    const cases = patterns.flatMap((pattern) => paths.map((path) => [pattern, path]));
    const python = spawnSync(
      'python3',
      [
        '-c',
        'import fnmatch, json, sys\nprint(json.dumps([fnmatch.fnmatchcase(p, g) for g, p in json.load(sys.stdin)]))',
      ],
      { input: JSON.stringify(cases), encoding: 'utf8' },
    );
    expect(python.stderr).toBe('');
    const expected = JSON.parse(python.stdout) as boolean[];
    const actual = cases.map(([pattern, path]) => !new PathFilter([exclude(pattern)]).includes(path));
    const differences = cases.filter((_, index) => expected[index] !== actual[index]);
    expect(differences).toEqual([]);
  });
});
