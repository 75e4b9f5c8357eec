/** The options the transfer commands share: --dryrun and --include/--exclude. */
import { type Command, Option } from 'commander';

import { type FilterRule, filterOption, filterRules } from './filters';

/** Adds `--dryrun` (also spelt `--dry-run`) to a command that changes something. */
export function withDryRun(command: Command): Command {
  return command
    .option('--dryrun', 'print what would be done ("(dryrun) copy: SRC to DST", as aws s3 does); change nothing')
    .addOption(new Option('--dry-run', 'the same as --dryrun').hideHelp());
}

/** Adds the repeatable `--exclude` and `--include` globs. */
export function withFilters(command: Command): Command {
  return command
    .option(
      '--exclude <glob>',
      'leave out paths (relative to the source) matching the glob; repeatable; the last matching filter wins',
      filterOption('exclude'),
    )
    .option(
      '--include <glob>',
      'take back paths matching the glob (after an --exclude); repeatable',
      filterOption('include'),
    );
}

/** Whether --dryrun or --dry-run was given. */
export function isDryRun(options: { dryrun?: boolean; dryRun?: boolean }): boolean {
  return options.dryrun === true || options.dryRun === true;
}

/** The parsed filters of a command, in command-line order. */
export function filtersOf(options: Parameters<typeof filterRules>[0]): FilterRule[] {
  return filterRules(options);
}

/** How `*`, `?` and `[...]` match, and where this differs from `aws s3`: for the help of each command. */
export const FILTER_HELP = `
Filters (--exclude/--include, repeatable, as aws s3): every object is included until a filter
matches it; filters apply in the order given and the last one that matches decides. A pattern
matches the whole path relative to the source prefix or directory (for one object: its name):
* any characters, / and leading dots included (** is the same), ? one character, [abc] [a-z]
one of a set, [!abc] one not in it; case-sensitive (Python's fnmatch, as aws s3). Example:
--exclude '*' --include '*.npz'. Unlike aws s3, rm -r and download match the path relative to
the prefix as given (as -p does), and upload the path relative to each pattern's directory.`;
