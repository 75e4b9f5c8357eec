/** `--dryrun`: what a command would do, printed as `aws s3` prints it, and nothing done. */
import type { CliContext } from '../context';
import type { Location } from '../locations';

/**
 * Prints `(dryrun) VERB: FROM to TO` (or `(dryrun) VERB: FROM`) on stdout; under --json a
 * `{ type: 'dryrun', operation, uri, to }` record.
 */
export function printDryRun(
  ctx: CliContext,
  verb: string,
  from: Pick<Location, 'uri' | 'shown'>,
  to?: Pick<Location, 'uri' | 'shown'>,
): void {
  ctx.reporter.result(`(dryrun) ${verb}: ${from.shown}${to ? ` to ${to.shown}` : ''}`, {
    type: 'dryrun',
    operation: verb,
    uri: from.uri,
    ...(to && { to: to.uri }),
  });
}
