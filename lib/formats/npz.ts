/**
 * NumPy's `.npz`: a ZIP archive with one `<name>.npy` file per array (what `numpy.savez` writes
 * and `numpy.load` reads). Written uncompressed and 64-byte aligned, so arrays read back from an
 * archive in aligned memory are views of it; compressed archives (`savez_compressed`) are read too.
 */
import { expectKnownOptions, optionKeys } from '../internal/option-keys';
import { invalidType, invalidValue } from '../validate';
import { badFormat, expectBytes } from './common';
import { npyParts, parseNpyAs, type NpyArray, type NpyInput } from './npy';
import { encodeZipAs, readZipAs, type ZipEntryInput, type ZipReadOptions } from './zip';

/** Options of {@link readNpz}. */
export interface NpzReadOptions {
  /** Check each member's CRC-32 (default true): `ERR_CHECKSUM_MISMATCH` on a difference. */
  verify?: boolean;
}

const READ_KEYS = optionKeys<NpzReadOptions>()({ verify: true });

/**
 * Encodes named arrays as an `.npz` archive (stored entries `<name>.npy`, in key order), readable
 * by `numpy.load`. Each array's data is copied once, straight into the archive.
 *
 * @param arrays name → typed array or `{ dtype, shape, data }` (see `encodeNpy`).
 * @throws S3dlioError `ERR_OBJECT_TOO_LARGE` past the ZIP limits (4 GiB, 65,535 arrays).
 */
export function encodeNpz(arrays: Readonly<Record<string, NpyInput>>): Uint8Array {
  if (typeof arrays !== 'object' || arrays === null || Array.isArray(arrays) || ArrayBuffer.isView(arrays)) {
    throw invalidType('arrays', 'an object mapping names to arrays', arrays);
  }
  const entries: ZipEntryInput[] = Object.keys(arrays).map((name) => {
    if (name.length === 0) throw invalidValue('arrays', 'non-empty array names', name);
    const { header, body } = npyParts(arrays[name], undefined, `arrays[${JSON.stringify(name)}]`, 'encodeNpz');
    return { name: `${name}.npy`, data: [header, body] };
  });
  return encodeZipAs(entries, undefined, 'encodeNpz');
}

/**
 * Reads an `.npz` archive (stored or deflated members) into name → array, names without `.npy`.
 * Arrays of stored members are views of `bytes` when aligned (see `parseNpy`); deflated members
 * are inflated into new memory, which the arrays then view.
 *
 * @throws S3dlioError `ERR_BAD_FORMAT` for a corrupt archive or array, a member that is not a
 *   `.npy` file, or a name that appears twice; `ERR_CHECKSUM_MISMATCH` for a CRC-32 difference.
 */
export function readNpz(
  bytes: Uint8Array | ArrayBufferView | ArrayBuffer,
  options?: NpzReadOptions,
): Map<string, NpyArray> {
  const input = expectBytes(bytes, 'bytes');
  const opts = expectKnownOptions(options, READ_KEYS, 'readNpz');
  // Stryker disable next-line ConditionalExpression: { verify: undefined } reads as the default, as {} does
  const zipOptions: ZipReadOptions = opts.verify === undefined ? {} : { verify: opts.verify };
  const out = new Map<string, NpyArray>();
  for (const entry of readZipAs(input, zipOptions, 'readNpz')) {
    if (!entry.name.endsWith('.npy')) {
      throw badFormat('readNpz', `member ${JSON.stringify(entry.name)} is not an .npy array`);
    }
    const name = entry.name.slice(0, -'.npy'.length);
    if (out.has(name)) throw badFormat('readNpz', `array ${JSON.stringify(name)} appears twice in the archive`);
    // A stored member is a view of the archive: its offsets are archive offsets.
    const base = entry.data.byteOffset - input.byteOffset;
    const where =
      entry.method === 'stored'
        ? (offset: number) => `byte ${base + offset} of the archive`
        : (offset: number) => `byte ${offset} of the inflated member`;
    out.set(name, parseNpyAs(entry.data, `readNpz ${JSON.stringify(name)}`, where));
  }
  return out;
}
