/**
 * `--include` / `--exclude` of the transfer commands, with the AWS CLI's semantics: every object is
 * included until a filter says otherwise; filters apply in the order given and the last one that
 * matches decides. A pattern matches the whole path relative to the source prefix (directory), as
 * Python's `fnmatch` does for `aws s3`: `*` is any run of characters, `/` and a leading `.`
 * included (so `**` is the same as `*`), `?` one character, `[abc]`/`[a-z]` one of a set,
 * `[!abc]` one not in it. Matching is case-sensitive.
 */
import { CliUsageError } from './usage-error';

/** One `--include` or `--exclude`, in command-line order. */
export interface FilterRule {
  kind: 'include' | 'exclude';
  pattern: string;
}

/** Characters with a meaning in a regular expression outside a class. */
const REGEX_SYNTAX = /[\\^$.*+?()[\]{}|/]/g;

/** The regular expression source (unanchored) of one glob pattern, fnmatch-style. */
export function globSource(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length;) {
    const char = glob[i++];
    if (char === '*') {
      out += '[^]*';
      while (glob[i] === '*') i++;
    } else if (char === '?') {
      out += '.';
    } else if (char === '[') {
      // As fnmatch: `!` negates, a `]` right after `[` or `[!` is a member, and a `[` with no
      // closing `]` is an ordinary character.
      let end = i;
      if (glob[end] === '!') end++;
      if (glob[end] === ']') end++;
      while (end < glob.length && glob[end] !== ']') end++;
      if (end >= glob.length) {
        out += '\\[';
        continue;
      }
      let members = glob.slice(i, end);
      i = end + 1;
      const negated = members.startsWith('!');
      if (negated) members = members.slice(1);
      out += `[${negated ? '^' : ''}${members.replace(/[\\\]^[]/g, '\\$&')}]`;
    } else {
      out += char.replace(REGEX_SYNTAX, '\\$&');
    }
  }
  return out;
}

/** The include/exclude rules of one command, applied to paths relative to the source. */
export class PathFilter {
  private readonly matchers: ReadonlyArray<{ include: boolean; regex: RegExp }>;

  /** Throws CliUsageError for a pattern that is no valid glob (e.g. a reversed range `[z-a]`). */
  constructor(readonly rules: readonly FilterRule[] = []) {
    this.matchers = rules.map((rule) => {
      try {
        return { include: rule.kind === 'include', regex: new RegExp(`^(?:${globSource(rule.pattern)})$`, 'su') };
      } catch (error) {
        throw new CliUsageError(`--${rule.kind} ${rule.pattern}: not a valid pattern (${(error as Error).message})`);
      }
    });
  }

  /** Whether any rule was given. */
  get active(): boolean {
    return this.rules.length > 0;
  }

  /** Whether the object at `relative` (its path relative to the source prefix) is included. */
  includes(relative: string): boolean {
    for (let index = this.matchers.length - 1; index >= 0; index--) {
      const { include, regex } = this.matchers[index];
      if (regex.test(relative)) return include;
    }
    return true;
  }

  /**
   * The same decision as one regular expression, for the library's `pattern` options (which test
   * the path relative to the prefix): included when no rule matches, or when an include matches
   * and no later rule does.
   */
  toRegExp(): RegExp {
    const sources = this.rules.map((rule) => `(?:${globSource(rule.pattern)})$`);
    const noneFrom = (start: number): string =>
      sources
        .slice(start)
        .map((source) => `(?!${source})`)
        .join('');
    const alternatives = [noneFrom(0)];
    this.rules.forEach((rule, index) => {
      if (rule.kind === 'include') alternatives.push(`(?=${sources[index]})${noneFrom(index + 1)}`);
    });
    return new RegExp(`^(?:${alternatives.join('|')})`, 'su');
  }
}

let order = 0;

/**
 * The commander parser of `--include` or `--exclude`: each value is numbered as it is parsed, so
 * that `filterRules` can put both options back in command-line order.
 */
export function filterOption(
  kind: FilterRule['kind'],
): (value: string, previous?: Array<FilterRule & { order: number }>) => Array<FilterRule & { order: number }> {
  return (value, previous = []) => {
    new PathFilter([{ kind, pattern: value }]); // a bad pattern is a usage error at once
    return [...previous, { kind, pattern: value, order: order++ }];
  };
}

/** The rules of a command's parsed `--include` and `--exclude` options, in command-line order. */
export function filterRules(options: {
  include?: Array<FilterRule & { order: number }>;
  exclude?: Array<FilterRule & { order: number }>;
}): FilterRule[] {
  return [...(options.include ?? []), ...(options.exclude ?? [])]
    .sort((a, b) => a.order - b.order)
    .map(({ kind, pattern }) => ({ kind, pattern }));
}
