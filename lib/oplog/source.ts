/** Opening an op-log for reading: a local path, or a URI of any store, read as a stream. */
import { createReadStream } from 'fs';

import { toS3dlioError } from '../errors';
import { storeFor } from '../stores';
import { expectKnownOptions, optionKeys } from '../internal/option-keys';
import { localLogFile } from './location';
import type { ObjectStore } from '../object-store';
import { expectString, invalidValue } from '../validate';
import { type OpLogEntry, type ReadOpLogOptions, readOpLogEntries } from './reader';

const OPTION_KEYS = optionKeys<ReadOpLogSourceOptions>()({ truncated: true, store: true });

/** Options of {@link readOpLog}. */
export interface ReadOpLogSourceOptions extends ReadOpLogOptions {
  /** A log that is an object: the store to read it through (default: `storeFor(source)`). */
  store?: ObjectStore;
}

/**
 * The operations of the op-log at `source` (a local path or a URI), read as a stream: ours,
 * s3dlio's or warp's, plain or zstd. Bad lines are ERR_BAD_FORMAT with their line number; a log
 * cut short is read up to the cut, with a warning (`truncated: 'error'` refuses it).
 */
export function readOpLog(source: string, options?: ReadOpLogSourceOptions): AsyncIterable<OpLogEntry> {
  const name = expectString(source, 'source');
  const { store, ...readOptions } = expectKnownOptions(options, OPTION_KEYS, 'readOpLog');
  if (readOptions.truncated !== undefined && readOptions.truncated !== 'warn' && readOptions.truncated !== 'error') {
    throw invalidValue('options.truncated', "'warn' or 'error'", readOptions.truncated);
  }
  const file = localLogFile(name, 'source');
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      if (file !== undefined) yield* createReadStream(file, { highWaterMark: 1 << 20 });
      else yield* (store ?? storeFor(name)).getStream(name);
    } catch (error) {
      throw toS3dlioError(error, 'readOpLog', name);
    }
  }
  return readOpLogEntries(chunks(), name, readOptions);
}
