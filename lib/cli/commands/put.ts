/** `s3dlio put`: generate synthetic objects (raw, npz, tfrecord, hdf5) and write them. */
import { createBucket, createWriter, put } from '../../api';
import { DataGenerator } from '../../datagen';
import type { ObjectFormat } from '../../formats';
import { bucketUriOf } from '../../uri';
import type { CliContext } from '../context';
import { forEachConcurrent } from '../pool';
import { CliUsageError } from '../usage-error';
import { printDryRun } from './dryrun';

/** Options of `put`. */
export interface PutCommandOptions {
  objects: number;
  size: number;
  template?: string;
  format: string;
  dedup: number;
  compress: number;
  jobs: number;
  createBucket?: boolean;
  /** TFRecord: records per object. */
  records?: number;
  /** Class labels (npz, tfrecord, hdf5) are 0 … classes - 1 (default {@link DEFAULT_CLASSES}). */
  classes?: number;
  /** Reproducible payloads and labels (labels use 0 when not given). */
  seed?: number;
  /** Print the objects that would be written; write nothing. */
  dryrun?: boolean;
}

/** Classes of the labels of a generated dataset when --classes is not given (as CIFAR-10's). */
export const DEFAULT_CLASSES = 10;

/** Raw objects larger than this are streamed through a writer (memory: a few parts per job). */
const STREAM_ABOVE = 64 * 1024 * 1024;

/** Runs `put`. */
export async function putCommand(ctx: CliContext, prefix: string, options: PutCommandOptions): Promise<void> {
  ctx.useUris(prefix);
  // Loaded here: the format encoders (and HDF5's wasm) are not needed by the other commands.
  const { FORMAT_EXTENSIONS, generateObject, syntheticLabels } = await import('../../formats');
  const format = checkFormat(options.format, FORMAT_EXTENSIONS);
  checkRecords(options.records, format, options.size);
  const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
  const template = options.template ?? `object_{}_of_{}.${FORMAT_EXTENSIONS[format]}`;
  checkTemplate(template, options.objects);
  const keys = keyNames(template, options.objects);
  if (options.classes !== undefined && format === 'raw') {
    throw new CliUsageError(
      '--classes labels the records of --format npz, tfrecord or hdf5; raw objects hold no label',
    );
  }
  const { signal, reporter } = ctx;
  if (options.dryrun === true) {
    if (options.createBucket) printDryRun(ctx, 'make_bucket', { uri: bucketUriOf(base), shown: bucketUriOf(base) });
    for (const { key } of keys) printDryRun(ctx, 'put', { uri: `${base}${key}`, shown: `${base}${key}` });
    return reporter.flush();
  }
  // A missing h5wasm is one error for the run, not one per object.
  if (format === 'hdf5') (await import('../../formats/hdf5')).expectHdf5Installed();
  if (options.createBucket) await createBucket(bucketUriOf(base), { signal });

  const task = reporter.startTask('put', { objects: options.objects, bytes: options.objects * options.size });
  const generation = { dedup: options.dedup, compress: options.compress };
  await forEachConcurrent(
    keys,
    options.jobs,
    signal,
    async ({ key, index }) => {
      const uri = `${base}${key}`;
      // Each object its own seed: one seed for all would make every object the same bytes.
      const seeded = { ...generation, ...(options.seed !== undefined && { seed: objectSeed(options.seed, index) }) };
      let written: number;
      if (format === 'raw' && options.size > STREAM_ABOVE) {
        written = await streamRaw(uri, options.size, seeded, signal, (bytes) => task.add(0, bytes));
      } else {
        const records = format === 'tfrecord' ? (options.records ?? 1) : 1;
        const label =
          format === 'raw'
            ? undefined
            : syntheticLabels({
                classes: options.classes ?? DEFAULT_CLASSES,
                seed: options.seed ?? 0,
                object: index,
                records,
              });
        const object = await generateObject(format, options.size, {
          ...seeded,
          records: options.records,
          ...(label !== undefined && { label }),
          signal,
        });
        await put(uri, object.data, { signal });
        for (const sidecar of object.sidecars) await put(`${uri}${sidecar.suffix}`, sidecar.data, { signal });
        written = object.data.byteLength;
        task.add(0, options.size);
      }
      task.add(1, 0);
      reporter.objectDone('put', uri, written);
    },
    ({ key }, error) => reporter.failure(`${base}${key}`, error, 'put'),
  );
  task.finish();
}

async function streamRaw(
  uri: string,
  size: number,
  generation: { dedup: number; compress: number; seed?: bigint },
  signal: AbortSignal,
  onBytes: (bytes: number) => void,
): Promise<number> {
  const writer = createWriter(uri, { signal });
  try {
    for await (const chunk of new DataGenerator(size, { ...generation, chunkSize: 16 * 1024 * 1024 })) {
      await writer.write(chunk);
      onBytes(chunk.byteLength);
    }
    return (await writer.close()).bytes;
  } catch (error) {
    await writer.abort(error);
    throw error;
  }
}

function checkFormat(name: string, extensions: Record<ObjectFormat, string>): ObjectFormat {
  if (!Object.hasOwn(extensions, name)) {
    throw new CliUsageError(`unknown object format '${name}' (one of: ${Object.keys(extensions).join(', ')})`);
  }
  return name as ObjectFormat;
}

/** `--records` only means something for tfrecord, and every record needs a byte of the payload. */
function checkRecords(records: number | undefined, format: ObjectFormat, size: number): void {
  if (records === undefined) return;
  if (format !== 'tfrecord') throw new CliUsageError(`--records applies to --format tfrecord, not --format ${format}`);
  if (size > 0 && records > size) {
    throw new CliUsageError(
      `--records ${records} is more than the ${size} payload bytes per object (-s): every record needs a byte`,
    );
  }
}

/** The first `{}` of a template is the object's index, the second the number of objects. */
function checkTemplate(template: string, count: number): void {
  const holes = template.split('{}').length - 1;
  if (holes === 0 && count > 1) {
    throw new CliUsageError(`template '${template}' has no {} for the object index, so ${count} objects would collide`);
  }
  if (holes > 2) throw new CliUsageError(`template '${template}' has more than two {} (index, count)`);
  if (template.split('/').some((segment) => segment === '..' || segment === '.' || segment === '')) {
    throw new CliUsageError(`template '${template}' must not contain empty, '.' or '..' path segments`);
  }
}

/**
 * Object names from the template (s3dlio's `object_{}_of_{}.dat`); lazy, for a million names. The
 * index is zero-padded to the width of the count (`object_0042_of_1000`), so that names sort in
 * numeric order, as listings return them.
 */
function* keyNames(template: string, count: number): Generator<{ key: string; index: number }> {
  const width = String(count).length;
  for (let index = 0; index < count; index++) {
    let hole = 0;
    const key = template.replace(/\{\}/g, () => (hole++ === 0 ? String(index).padStart(width, '0') : String(count)));
    yield { key, index };
  }
}

/** The payload seed of object `index`: distinct per object, the same for the same --seed. */
function objectSeed(seed: number, index: number): bigint {
  return BigInt.asUintN(64, BigInt(seed) * 0x9e3779b97f4a7c15n + BigInt(index));
}
