/**
 * The `s3dlio` command: every command works on every URI scheme. Exit codes: 0 success, 1 an
 * object or operation failed (each failure printed to stderr), 2 bad usage, 130 Ctrl-C (in-flight
 * work aborted: no partial objects), 143 SIGTERM.
 */
import { Command, CommanderError, Option } from 'commander';

import { type CliContext, CliContext as Context, type GlobalOptions } from './context';
import { checkpointListCommand, checkpointRemoveCommand, checkpointShowCommand } from './commands/checkpoint';
import { getCommand } from './commands/get';
import { oplogStatsCommand, replayCommand } from './commands/oplog';
import {
  createBucketCommand,
  deleteBucketCommand,
  listBucketsCommand,
  listCommand,
  sizeCommand,
  statCommand,
} from './commands/inspect';
import { putCommand } from './commands/put';
import { guardLocalDelete, removeCommand } from './commands/remove';
import { copyCommand, moveCommand, syncCommand } from './commands/copy';
import { printDryRun } from './commands/dryrun';
import { downloadCommand, uploadCommand } from './commands/transfer';
import { locationOf } from './locations';
import { Reporter, describe } from './reporter';
import {
  parseCount,
  parseNonNegativeInteger,
  parsePositiveInteger,
  parsePositiveSize,
  parseRatio,
  parseRegex,
  parseSize,
} from './units';
import { CliUsageError } from './usage-error';
import { FILTER_HELP, filtersOf, isDryRun, withDryRun, withFilters } from './transfer-options';
import { ENDPOINT_STRATEGIES } from '../backends/cloud/endpoints/endpoint-set';
import { localLogFile } from '../oplog/location';
import { startOpLog, stopOpLog } from '../oplog/session';

/** The streams the CLI writes to (the process's, or a test's). */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

const EXIT = { ok: 0, failed: 1, usage: 2, SIGINT: 130, SIGTERM: 143 } as const;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version } = require('../../package.json') as { version: string };

type Action = (ctx: CliContext) => Promise<void>;

const jobs = (text: string): number => parsePositiveInteger(text, '--jobs');
const regex = (text: string): RegExp => parseRegex(text, '--pattern');
/** The file of a local --op-log; a malformed URI is a usage error. */
const localFileOf = (log: string): string | undefined => {
  try {
    return localLogFile(log, '--op-log');
  } catch (error) {
    throw new CliUsageError((error as Error).message);
  }
};
/** A command's URI argument: a URI of any scheme, or a local path (its file:// URI), as cp takes. */
const place = (text: string): string => locationOf(text).uri;
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
const speedOf = (text: string): number => {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) {
    throw new CliUsageError(`--speed ${text}: expected a number >= 0 (1 = as recorded, 0 = as fast as possible)`);
  }
  return value;
};

/** `create-bucket`/`delete-bucket --dryrun`: the URI is checked, the bucket left alone. */
function dryRunBucket(ctx: CliContext, verb: string, uri: string): void {
  ctx.useUris(uri);
  printDryRun(ctx, verb, { uri, shown: uri });
  ctx.reporter.flush();
}

/** How sync decides what to copy, for `s3dlio sync --help`. */
const SYNC_HELP = `
What sync copies: every source object (below SRC, keyed by its path relative to it) that the
destination lacks or holds in another version. An object is unchanged, and skipped, when:
  default        it has the same size and its modification time is the source's or later,
                 to the second (a copy is newer than what it copied); one stat (HEAD) of
                 each side per object the destination already has. Unlike aws s3 sync, a
                 download does not take the object's time: a local file changed after it
                 keeps its change
  --size-only    it has the same size
  --checksum     it has the same size and the same content: equal MD5 etags (both S3-style,
                 single-part) are taken as equal without reading; otherwise both objects are
                 read in full and their CRC32C compared (costs a read of both sides)
--delete removes destination objects with no source counterpart, unless the filters exclude
them; after any failed copy it deletes nothing. --dryrun prints what would be copied and deleted.`;

/** Builds the command tree; `run` receives each command's action with its context. */
function buildProgram(io: CliIo, run: (command: Command, action: Action) => Promise<void>): Command {
  const program = new Command('s3dlio')
    .description('Fast storage I/O for s3://, az://, gs://, file:// and direct:// URIs')
    .version(version)
    .option('--endpoint-url <url>', 'endpoint of the cloud scheme the command uses (an emulator, S3-compatible store)')
    .option(
      '--endpoints <list>',
      's3:// endpoints fronting one store: URLs or a template (http://10.0.0.{1...8}:9000), comma-separated, or a file of them',
    )
    .addOption(
      new Option('--endpoint-strategy <name>', 'how requests spread over --endpoints').choices([
        ...ENDPOINT_STRATEGIES,
      ]),
    )
    .option('--io-threads <n>', 'worker threads that move cloud object bodies, each with its own sockets (default 0)')
    .option('--region <region>', 'S3 region')
    .option('--profile <name>', 'AWS profile of ~/.aws/credentials and ~/.aws/config for s3:// (as AWS_PROFILE)')
    .option('--ca-bundle <file>', 'PEM file of the CA certificates to trust (s3://, az://); TLS verification stays on')
    .option(
      '--op-log <file>',
      'record every storage request in a warp-compatible op-log (TSV; zstd when it ends in .zst)',
    )
    .option('-v, --verbose', 'a line per object; -vv adds error causes and stacks', (_: string, n: number) => n + 1, 0)
    .option('-q, --quiet', 'no progress, per-object lines or summaries: only results (listings) and errors')
    .option('--json', 'machine-readable output: one JSON object per line')
    .option('--no-progress', 'no progress bars (they are only drawn on a terminal anyway)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(`s3dlio: ${text.replace(/^error: /, '')}`),
    })
    .showHelpAfterError('(s3dlio --help shows the usage)');

  program
    .command('ls')
    .alias('list')
    .description('list objects below a prefix (streamed)')
    .argument('<uri>', 'prefix URI, or a local path', place)
    .option('-r, --recursive', 'every object below the prefix, not only direct children')
    .option('-p, --pattern <regex>', 'only keys (relative to the prefix) matching', regex)
    .option('-c, --count-only', 'print only the number of entries')
    .option('-l, --long', 'size, modification time and etag of each object (from the listing pages)')
    .option('-h, --human-readable', 'with -l: sizes in KiB, MiB, GiB')
    .helpOption('--help', 'display help for command')
    .action((uri: string, opts, command: Command) => run(command, (ctx) => listCommand(ctx, uri, opts)));

  program
    .command('du')
    .alias('size')
    .description('number of objects and total bytes below a prefix (every depth by default)')
    .argument('<uri>', 'prefix URI, or a local path', place)
    .option('--no-recursive', 'only the direct children of the prefix')
    .option('-p, --pattern <regex>', 'only keys (relative to the prefix) matching', regex)
    .option('-h, --human-readable', 'the total in KiB, MiB, GiB')
    .helpOption('--help', 'display help for command')
    .action((uri: string, opts, command: Command) => run(command, (ctx) => sizeCommand(ctx, uri, opts)));

  program
    .command('stat')
    .description('size, modification time, etag and content type of one object')
    .argument('<uri>', 'object URI, or a local path', place)
    .action((uri: string, _opts, command: Command) => run(command, (ctx) => statCommand(ctx, uri)));

  withDryRun(program.command('get'))
    .description('read objects (discarding the bytes: a read benchmark), or save them with -o')
    .argument('<uri>', 'object URI, or a prefix (ending in / or with -r), or a local path', place)
    .option('-j, --jobs <n>', 'objects in flight', jobs, 32)
    .option('--offset <bytes>', 'first byte (one object; 4096, 4k, 1MiB)', (t) => parseSize(t, '--offset'))
    .option('--length <bytes>', 'bytes to read (one object)', (t) => parsePositiveSize(t, '--length'))
    .option('-r, --recursive', 'every object below the prefix')
    .option(
      '-o, --output <path>',
      'save: one object to this file (into it when it ends with / or is a directory); with -r or a prefix, into this directory; - writes one object to stdout',
    )
    .action((uri: string, opts, command: Command) =>
      run(command, (ctx) => getCommand(ctx, uri, { ...opts, dryrun: isDryRun(opts) })),
    );

  program
    .command('cat')
    .description('write one object to stdout (as get URI -o -)')
    .argument('<uri>', 'object URI, or a local path', place)
    .option('--offset <bytes>', 'first byte', (t) => parseSize(t, '--offset'))
    .option('--length <bytes>', 'bytes to write', (t) => parsePositiveSize(t, '--length'))
    .action((uri: string, opts: { offset?: number; length?: number }, command: Command) =>
      run(command, (ctx) => {
        // The object is the output: no summary line after it, as `cat` prints none.
        ctx.reporter.options.quiet = true;
        return getCommand(ctx, uri, { ...opts, jobs: 1, output: '-' });
      }),
    );

  withDryRun(program.command('put'))
    .description('generate synthetic objects and write them below a prefix')
    .argument('<prefix>', 'destination prefix URI, or a local path', place)
    .requiredOption('-n, --objects <count>', 'number of objects (1k = 1000)', (t) => parseCount(t, '--objects'))
    .requiredOption('-s, --size <bytes>', 'payload bytes per object (4096, 4k = 4KiB = 4096, 1MiB, 2G)', (t) =>
      parseSize(t, '--size'),
    )
    .option(
      '-t, --template <name>',
      "object names: first {} = index (zero-padded to the count's width), second = count (default 'object_{}_of_{}.<ext>')",
    )
    .option('--format <format>', 'raw, npz, tfrecord or hdf5', 'raw')
    .addOption(new Option('-o, --output <value>').hideHelp())
    .option(
      '-d, --dedup <n>',
      'dedup ratio: about 1/n of the 4 KiB blocks are unique',
      (t) => parseRatio(t, '--dedup'),
      1,
    )
    .option('-x, --compress <n>', 'compression ratio a compressor reaches', (t) => parseRatio(t, '--compress'), 1)
    .option('--records <n>', 'tfrecord: records per object', (t) => parsePositiveInteger(t, '--records'))
    .option('--classes <n>', 'npz, tfrecord, hdf5: class labels 0 … n-1, varied per record (default 10)', (t) =>
      parsePositiveInteger(t, '--classes'),
    )
    .option('--seed <n>', 'reproducible payloads and labels (labels use seed 0 without it)', (t) =>
      parseNonNegativeInteger(t, '--seed'),
    )
    .option('-j, --jobs <n>', 'objects in flight', jobs, 32)
    .option('-c, --create-bucket', 'create the bucket (directory) first')
    .action((prefix: string, opts, command: Command) => {
      // -o means an output path everywhere else; put's format was once -o: say where it went.
      if (opts.output !== undefined) {
        throw new CliUsageError(`put has no -o: the object format is --format (e.g. --format ${String(opts.output)})`);
      }
      return run(command, (ctx) => putCommand(ctx, prefix, { ...opts, dryrun: isDryRun(opts) }));
    });

  withFilters(withDryRun(program.command('upload')))
    .description('upload local files (globs allowed; ** for any depth) below a prefix')
    .argument('<files...>', 'files or glob patterns, then the destination prefix URI last')
    .option('-j, --jobs <n>', 'objects in flight', jobs, 8)
    .option('-c, --create-bucket', 'create the bucket (directory) first')
    .action((args: string[], opts, command: Command) => {
      if (args.length < 2) throw new CliUsageError('upload needs at least one file and a destination URI');
      const destination = locationOf(args[args.length - 1]).uri;
      const settings = { ...opts, dryrun: isDryRun(opts), filters: filtersOf(opts) };
      return run(command, (ctx) => uploadCommand(ctx, args.slice(0, -1), destination, settings));
    });

  withFilters(withDryRun(program.command('download')))
    .description('download every object below a prefix into a directory')
    .argument('<uri>', 'source prefix URI, or a local path', place)
    .argument('<dir>', 'local directory')
    .option('-j, --jobs <n>', 'objects in flight', jobs, 8)
    .option('-p, --pattern <regex>', 'only keys (relative to the prefix) matching', regex)
    .option('--no-recursive', 'only the direct children of the prefix')
    .addHelpText('after', FILTER_HELP)
    .action((uri: string, dir: string, opts, command: Command) =>
      run(command, (ctx) =>
        downloadCommand(ctx, uri, dir, { ...opts, dryrun: isDryRun(opts), filters: filtersOf(opts) }),
      ),
    );

  const transferArguments = (command: Command, trees = false): Command =>
    withFilters(withDryRun(command))
      .argument(
        '<src>',
        trees
          ? 'source prefix or directory: a URI of any scheme, or a local path'
          : 'source: a URI of any scheme, or a local path (a file, or with -r a directory)',
      )
      .argument(
        '<dst>',
        trees
          ? 'destination prefix or directory: a URI or a local path'
          : 'destination: a URI or a local path; ending in / (or an existing directory): into it',
      )
      .option('-j, --jobs <n>', 'objects in flight', jobs, 8);
  const transferAction =
    (command: typeof copyCommand) =>
    (src: string, dst: string, opts: Record<string, unknown>, self: Command): Promise<void> => {
      const [from, to] = [locationOf(src), locationOf(dst)];
      const settings = { ...opts, jobs: opts.jobs as number, dryrun: isDryRun(opts), filters: filtersOf(opts) };
      return run(self, (ctx) => command(ctx, from, to, settings));
    };

  transferArguments(program.command('cp'))
    .description('copy an object, or with -r every object below a prefix or directory (any schemes, local paths)')
    .option('-r, --recursive', 'every object below the source prefix (directory), keyed relative to it')
    .addHelpText('after', FILTER_HELP)
    .action(transferAction(copyCommand));

  transferArguments(program.command('mv'))
    .description('move: copy, then delete the source once the copy succeeded (with -r: once every copy did)')
    .option('-r, --recursive', 'every object below the source prefix (directory), keyed relative to it')
    .addHelpText('after', FILTER_HELP)
    .action(transferAction(moveCommand));

  transferArguments(program.command('sync'), true)
    .description('copy what is new or changed below a prefix (directory) to another (any schemes, local paths)')
    .option('--delete', 'delete destination objects with no source counterpart (those the filters keep)')
    .option('--checksum', 'compare contents instead of size and time (reads both sides; see below)')
    .option('--size-only', 'compare sizes only')
    .addHelpText('after', `${SYNC_HELP}\n${FILTER_HELP}`)
    .action(transferAction(syncCommand));

  withFilters(withDryRun(program.command('rm')))
    .alias('delete')
    .description('delete an object, or with -r every object below a prefix')
    .argument('<uri>', 'object or prefix URI, or a local path', place)
    .option('-r, --recursive', 'every object below the prefix')
    .option('-p, --pattern <regex>', 'with -r: only keys (relative to the prefix) matching', regex)
    .option('-j, --jobs <n>', 'deletes in flight', jobs, 16)
    .option('--allow-protected-paths', 'with -r: delete even where the prefix reaches a protected local path')
    .action((uri: string, opts, command: Command) => {
      if (opts.pattern !== undefined && opts.recursive !== true) throw new CliUsageError('-p/--pattern needs -r');
      if (opts.allowProtectedPaths === true && opts.recursive !== true) {
        throw new CliUsageError('--allow-protected-paths needs -r');
      }
      return run(command, (ctx) =>
        removeCommand(ctx, uri, { ...opts, dryrun: isDryRun(opts), filters: filtersOf(opts) }),
      );
    });

  withDryRun(program.command('create-bucket'))
    .alias('mb')
    .description('create a bucket (container; a directory for file:// and direct://)')
    .argument('<uri>', 'bucket URI, or a local path', place)
    .action((uri: string, opts, command: Command) =>
      run(command, async (ctx) =>
        isDryRun(opts) ? dryRunBucket(ctx, 'make_bucket', uri) : createBucketCommand(ctx, uri),
      ),
    );

  withDryRun(program.command('delete-bucket'))
    .alias('rb')
    .description('delete an empty bucket (--force: its objects first)')
    .argument('<uri>', 'bucket URI, or a local path', place)
    .option('-f, --force', 'delete the objects first')
    .option('--allow-protected-paths', 'delete a protected local directory too (the root, a top-level directory, …)')
    .action((uri: string, opts, command: Command) =>
      run(command, async (ctx) => {
        if (!isDryRun(opts)) return deleteBucketCommand(ctx, uri, opts);
        // The dry run refuses what the run would: a protected local directory.
        await guardLocalDelete(uri, 'tree', opts.allowProtectedPaths === true);
        dryRunBucket(ctx, 'remove_bucket', uri);
      }),
    );

  program
    .command('list-buckets')
    .description('list the buckets of a scheme (default s3://)')
    .argument('[scheme-uri]', 's3://, az://<account>/ or gs://', 's3://')
    .action((uri: string, _opts, command: Command) => run(command, (ctx) => listBucketsCommand(ctx, uri)));

  program
    .command('replay')
    .description("run the operations of an op-log (ours, s3dlio's or warp's) again against a target")
    .argument('<log>', 'op-log file or URI (plain or .zst)')
    .requiredOption(
      '--target <uri>',
      'prefix URI (or local path) the operations go to (the recorded bucket becomes it)',
      place,
    )
    .option('--speed <x>', '1 = as recorded, 2 = twice as fast, 0.5 = half speed, 0 = as fast as possible', speedOf, 1)
    .option(
      '-j, --concurrency <n>',
      'operations in flight at most',
      (t) => parsePositiveInteger(t, '--concurrency'),
      64,
    )
    .option('--op <ops>', 'only these ops (GET,PUT,STAT,LIST,DELETE); repeatable', collect)
    .option(
      '--remap <from=to>',
      'recorded prefix (bucket/, endpoint/bucket/ or /path/) to a target prefix; repeatable',
      collect,
    )
    .option('--continue-on-error', 'count failures and go on (default: stop at the first)')
    .action((log: string, opts, command: Command) => run(command, (ctx) => replayCommand(ctx, log, opts)));

  program
    .command('oplog')
    .description('op-logs')
    .command('stats')
    .description('ops/s, bytes, latency p50/p90/p99 per op type, and errors by code of an op-log')
    .argument('<log>', "op-log file or URI (ours, s3dlio's or warp's; plain or .zst)")
    .action((log: string, _opts, command: Command) => run(command, (ctx) => oplogStatsCommand(ctx, log)));

  const checkpoint = program
    .command('checkpoint')
    .description('the checkpoints saved under a base URI (CheckpointStore, s3dlio layout)');
  const step = (text: string): number => parseNonNegativeInteger(text, 'step');
  checkpoint
    .command('ls')
    .description('every save, newest first: step, {ts}, status, size, ranks; * marks latest')
    .argument('<base>', 'checkpoint base URI, or a local path', place)
    .action((base: string, _opts, command: Command) => run(command, (ctx) => checkpointListCommand(ctx, base)));
  checkpoint
    .command('show')
    .description("a checkpoint's manifest, shard by shard (default: the latest)")
    .argument('<base>', 'checkpoint base URI, or a local path', place)
    .argument('[step]', 'the step (its newest complete save, or the one at --ts)', step)
    .option('--ts <ts>', 'one save of the step, by its {ts} (YYYYMMDD-HHMMSS)')
    .action((base: string, at: number | undefined, opts, command: Command) =>
      run(command, (ctx) => checkpointShowCommand(ctx, base, at, opts)),
    );
  checkpoint
    .command('rm')
    .description('delete every save of a step (or the one at --ts); the latest checkpoint is refused')
    .argument('<base>', 'checkpoint base URI, or a local path', place)
    .argument('<step>', 'the step', step)
    .option('--ts <ts>', 'only the save at this {ts}')
    .action((base: string, at: number, opts, command: Command) =>
      run(command, (ctx) => checkpointRemoveCommand(ctx, base, at, opts)),
    );

  return program;
}

/**
 * Runs the CLI on `argv` (as `process.argv`, node and script first) and resolves to the exit code.
 * Installs SIGINT/SIGTERM handlers for its duration: the first aborts the in-flight work, a second
 * exits at once.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let context: Context | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!context || context.interruptedBy) process.exit(EXIT[signal === 'SIGTERM' ? 'SIGTERM' : 'SIGINT']);
    context.reporter.stopDrawing();
    context.reporter.interruption(`s3dlio: ${signal}: cancelling the work in flight (again to quit at once)`);
    context.interrupt(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const program = buildProgram(io, async (command, action) => {
    const globals = command.optsWithGlobals<GlobalOptions>();
    const { opLog } = globals;
    if (globals.quiet === true && globals.verbose > 0)
      throw new CliUsageError('--quiet and --verbose exclude each other');
    if (opLog !== undefined && localFileOf(opLog) === undefined) {
      throw new CliUsageError(
        `--op-log ${opLog}: the log is written to a local file; copy it to a store afterwards (s3dlio cp)`,
      );
    }
    // The AWS SDK's notice that its 2027 releases need Node 22 would precede every s3:// command's
    // output; it is shown with -v (the SDK's own switch, unless the user set it; the library would
    // otherwise silence it too).
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= globals.verbose < 1 ? 'true' : 'false';
    const reporter = new Reporter({
      json: globals.json === true,
      verbose: globals.verbose,
      quiet: globals.quiet === true,
      progress: globals.progress,
      ...io,
    });
    context = new Context(globals, reporter);
    if (opLog === undefined) return action(context);
    await startOpLog(opLog);
    try {
      await action(context);
    } finally {
      // The log is closed whatever the command did; a log that could not be written fails it.
      try {
        const written = await stopOpLog();
        if (written)
          reporter.detail(`op-log ${opLog}: ${written.lines} operations`, { type: 'oplog', log: opLog, ...written });
      } catch (error) {
        reporter.failure(opLog, error, 'op-log');
      }
    }
  });

  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    context?.reporter.stopDrawing();
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (error instanceof CliUsageError) {
      io.stderr.write(`s3dlio: ${error.message}\n`);
      return EXIT.usage;
    }
    if (!context?.interruptedBy) {
      if (context) context.reporter.failure('', error, program.args[0] ?? 's3dlio');
      else io.stderr.write(`s3dlio: ${describe(error instanceof Error ? error : new Error(String(error)))}\n`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (context?.interruptedBy) {
    context.reporter.flush();
    const { cancelled } = context.reporter;
    context.reporter.interruption(`s3dlio: interrupted; ${cancelled} objects cancelled, none left partial`, {
      signal: context.interruptedBy,
      cancelled,
    });
    return EXIT[context.interruptedBy === 'SIGTERM' ? 'SIGTERM' : 'SIGINT'];
  }
  return context !== undefined && context.reporter.failures > 0 ? EXIT.failed : EXIT.ok;
}

/** Entry point of `bin/s3dlio.js`: runs `main` on the process and exits with its code. */
export function run(): void {
  // `s3dlio ls … | head`: a closed stdout ends the command quietly, as SIGPIPE would.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(141);
    throw error;
  });
  main(process.argv, { stdout: process.stdout, stderr: process.stderr }).then(
    (code) => process.stdout.write('', () => process.exit(code)),
    (error: unknown) => {
      process.stderr.write(`s3dlio: internal error: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(EXIT.failed);
    },
  );
}
