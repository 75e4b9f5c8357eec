/**
 * `s3dlio get`: read objects (and discard them, a read benchmark) or save them with `-o`: one
 * object to a file (`-o FILE`), into a directory (`-o DIR/`, an existing directory, or any `-o`
 * with -r or a prefix), or to stdout (`-o -`).
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { type Readable, Transform } from 'stream';
import { pipeline } from 'stream/promises';

import { get, getRange, getStream, list, stat } from '../../api';
import { printDryRun } from './dryrun';
import { withRecursiveHint } from '../locations';
import { downloadTo } from './transfer';
import { LocalRoot } from '../../internal/local-root';
import { writePlaced } from '../../transfer';
import type { CliContext } from '../context';
import { forEachConcurrent } from '../pool';
import { CliUsageError } from '../usage-error';

/** Options of `get`. */
export interface GetCommandOptions {
  jobs: number;
  offset?: number;
  length?: number;
  recursive?: boolean;
  /** One object: a file, or a directory when it ends with `/` or exists; many: a directory; `-`: stdout. */
  output?: string;
  /** With -o: print what would be written, write nothing. */
  dryrun?: boolean;
}

/** Runs `get`. */
export async function getCommand(ctx: CliContext, uri: string, options: GetCommandOptions): Promise<void> {
  ctx.useUris(uri);
  const ranged = options.offset !== undefined || options.length !== undefined;
  const many = options.recursive === true || uri.endsWith('/');
  if (many && ranged) throw new CliUsageError('--offset/--length read one object; not with a prefix or -r');
  if (many && options.output === '-') throw new CliUsageError('-o - writes one object to stdout; not a prefix');
  if (options.output === '-' && ctx.globals.json) throw new CliUsageError('-o - and --json both write to stdout');
  if (options.dryrun === true && (options.output === undefined || options.output === '-')) {
    throw new CliUsageError(
      '--dryrun applies to get -o FILE or DIR (what would be saved); get without it writes nothing',
    );
  }
  if (many) return options.output === undefined ? readPrefix(ctx, uri, options) : downloadPrefix(ctx, uri, options);
  return getOne(ctx, uri, options);
}

async function getOne(ctx: CliContext, uri: string, options: GetCommandOptions): Promise<void> {
  const { signal, reporter } = ctx;
  const task = reporter.startTask('get', { objects: 1 });
  const start = options.offset ?? 0;
  const end = options.length === undefined ? undefined : start + options.length - 1;
  try {
    if (options.output === undefined) {
      const bytes =
        start === 0 && end === undefined
          ? await get(uri, { signal })
          : await getRange(uri, start, options.length, { signal });
      task.add(1, bytes.byteLength);
    } else {
      const source = (): Readable => getStream(uri, { signal, start, ...(end !== undefined && { end }) });
      if (options.output === '-') {
        await pipeline(source(), countInto(task), ctx.reporter.options.stdout, { end: false });
      } else {
        // The file's directory is a destination root: nothing is written outside it, and the
        // file appears whole or not at all (temp file + rename).
        const file = await outputFile(uri, options.output);
        if (options.dryrun === true) {
          await stat(uri, { signal }); // a missing object fails the dry run as it would the run
          printDryRun(ctx, 'download', { uri, shown: uri }, { uri: `file://${file}`, shown: file });
          reporter.flush();
          return void task.stop();
        }
        const root = await LocalRoot.open(path.dirname(file));
        try {
          await root.withPlace(path.basename(file), uri, 'get', (placed) =>
            writePlaced(source(), placed, uri, { signal, onBytes: (count) => task.add(0, count) }),
          );
        } finally {
          await root.close();
        }
      }
      task.add(1, 0);
    }
    reporter.objectDone('get', uri, task.bytes);
  } catch (error) {
    const hinted = withRecursiveHint(error, uri, 'get');
    if (hinted instanceof CliUsageError) throw hinted;
    reporter.failure(uri, error, 'get');
  }
  task.finish();
}

/** The file `-o` names for one object: `output` itself, or the object's name inside it when it is a directory. */
async function outputFile(uri: string, output: string): Promise<string> {
  const isDirectory =
    output.endsWith('/') ||
    (await fs.stat(output).then(
      (stats) => stats.isDirectory(),
      () => false,
    ));
  return isDirectory ? path.resolve(output, uri.slice(uri.lastIndexOf('/') + 1)) : path.resolve(output);
}

function countInto(task: { add(objects: number, bytes: number): void }): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      task.add(0, chunk.byteLength);
      callback(null, chunk);
    },
  });
}

async function readPrefix(ctx: CliContext, prefix: string, options: GetCommandOptions): Promise<void> {
  const { signal, reporter } = ctx;
  const task = reporter.startTask('get');
  // Listed first so the bar knows its total; objects are read `jobs` at a time, each whole
  // (zero-copy, ranged in parallel when large), then dropped.
  const uris = (await list(prefix, { recursive: options.recursive === true, signal })).filter((u) => !u.endsWith('/'));
  task.setTotals({ objects: uris.length });
  await forEachConcurrent(
    uris,
    options.jobs,
    signal,
    async (uri) => {
      const bytes = await get(uri, { signal });
      task.add(1, bytes.byteLength);
      reporter.objectDone('get', uri, bytes.byteLength);
    },
    (uri, error) => reporter.failure(uri, error, 'get'),
  );
  task.finish(prefix);
}

async function downloadPrefix(ctx: CliContext, prefix: string, options: GetCommandOptions): Promise<void> {
  await downloadTo(ctx, 'get', prefix, options.output as string, {
    jobs: options.jobs,
    recursive: options.recursive === true,
    dryrun: options.dryrun === true,
  });
}
