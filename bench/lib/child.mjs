// Measurements that need a process of their own, run by bench/local.mjs:
//   node child.mjs rss <uri> <storeOptionsJson>   peak RSS of one get()
//   node child.mjs rss-readfile <path>            the same for fs.promises.readFile (reference)
//   node child.mjs readfile-pool <listFile> <C>   a pool of C fs.promises.readFile workers
//                                                 (run here so UV_THREADPOOL_SIZE can differ)
// Each prints one JSON object on stdout.
import { promises as fsp, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { loadLibrary } from './load.mjs';
import { gc, timeIt } from './util.mjs';

const [task, ...args] = process.argv.slice(2);

// Peak RSS comes from /proc/self/status VmHWM, reset to the current RSS just before the read
// (`5 > /proc/self/clear_refs`). getrusage's maxRSS is no use here: Linux carries it across
// fork + exec, so a child of a large parent starts with the parent's peak.
function procStatusBytes(field) {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}

function resetPeakRss() {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

async function measureRss(read) {
  gc();
  gc();
  const rssBefore = procStatusBytes('VmRSS');
  const peakReset = resetPeakRss();
  const hwmBefore = procStatusBytes('VmHWM');
  const maxRssBefore = process.resourceUsage().maxRSS * 1024;
  const { seconds, value } = await timeIt(read);
  const hwmAfter = procStatusBytes('VmHWM');
  const rssAfter = procStatusBytes('VmRSS');
  const maxRssAfter = process.resourceUsage().maxRSS * 1024;
  const length = value.length;
  // Touch the result so it is provably alive (and resident) at the measurement.
  let checksum = 0;
  for (let i = 0; i < length; i += 1 << 20) checksum ^= value[i];
  return {
    rssBefore,
    peakReset,
    hwmBefore,
    hwmAfter,
    rssAfter,
    maxRssBefore,
    maxRssAfter,
    length,
    seconds,
    checksum,
    // Without a reset, VmHWM may still hold an earlier peak: then the delta is an upper bound.
    peakDelta: hwmAfter - rssBefore,
  };
}

async function main() {
  let result;
  if (task === 'rss') {
    const [uri, optionsJson] = args;
    const s3 = await loadLibrary();
    const store = s3.storeFor(uri, JSON.parse(optionsJson || '{}'));
    // Warm the code path (addon load, JIT) on a small range so it does not count in the delta.
    await store.getRange(uri, 0, 4096);
    result = await measureRss(() => store.get(uri));
  } else if (task === 'rss-readfile') {
    const [file] = args;
    await fsp.readFile(fileURLToPath(import.meta.url)); // warm the code path on a small file
    result = await measureRss(() => fsp.readFile(file));
  } else if (task === 'readfile-pool') {
    const [listFile, concurrencyText] = args;
    const paths = readFileSync(listFile, 'utf8').split('\n').filter(Boolean);
    const concurrency = Number(concurrencyText);
    // Same as readFilePool in local.mjs: every file's bytes are kept, as getMany returns them.
    const results = new Array(paths.length);
    let next = 0;
    const { seconds } = await timeIt(() =>
      Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < paths.length) {
            const index = next++;
            results[index] = await fsp.readFile(paths[index]);
          }
        }),
      ),
    );
    const bytes = results.reduce((sum, b) => sum + b.length, 0);
    result = { seconds, bytes, threadpool: process.env.UV_THREADPOOL_SIZE ?? '4 (default)' };
  } else {
    throw new Error(`unknown task ${task}`);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});
