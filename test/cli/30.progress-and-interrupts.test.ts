/**
 * What a person at a terminal sees (progress bars, spinners, summaries) against what a pipe gets,
 * and Ctrl-C: in-flight work is aborted, exit 130, and no partial object is left anywhere.
 */
import { existsSync, readdirSync, statSync } from 'fs';
import * as path from 'path';

import { stagedUploads } from '../cloud/targets';
import { tempFilesIn } from '../helpers/local';
import { useTempDir } from '../helpers/temp';
import { testWith } from '../helpers/tools';
import { cloudClis, completion, runCliOk, spawnCli } from './cli';

const tmp = useTempDir('s3dlio-cli-progress-');
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b\[|\r/;

describe('on a terminal', () => {
  test('put draws a progress bar (bytes, objects, rate, ETA) and ends with the summary', async () => {
    const result = await runCliOk(['put', `file://${tmp.path}/tty/`, '-n', '40', '-s', '1MiB', '-j', '2'], {
      tty: true,
    });
    expect(result.stdout).toMatch(
      /put \[[█░]+\] \d+% \| [\d.]+ (KiB|MiB) \/ 40\.0 MiB \| \d+ objects \| [\d.]+ MiB\/s \| ETA/,
    );
    expect(result.stdout).toMatch(/put \[█+\] 100% \| 40\.0 MiB \/ 40\.0 MiB \| 40 objects/);
    expect(result.stdout).toMatch(/put: 40 objects, 40\.0 MiB in [\d.]+ s \([\d.]+ MiB\/s, [\d.]+ objects\/s\)/);
  });

  test('a listing of unknown length shows a spinner with a running count', async () => {
    const result = await runCliOk(['ls', '-r', `file://${tmp.path}/tty/`], { tty: true });
    expect(result.stdout).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] ls: 40 objects/);
    expect(result.stdout.match(/file:\/\/\S+object_\d+_of_40\.bin/g)).toHaveLength(40);
  });

  test('--no-progress and --json draw nothing', async () => {
    for (const flag of ['--no-progress', '--json']) {
      const result = await runCliOk([flag, 'get', `file://${tmp.path}/tty/`], { tty: true });
      expect(result.stdout).not.toMatch(/\[[█░]+\]/);
      expect(result.stdout).not.toMatch(/\x1b\[/); // eslint-disable-line no-control-regex
    }
  });
});

describe('piped', () => {
  test('no bar and no escape codes: only the summary line on stderr, nothing on stdout', async () => {
    // 40 objects, 32 in flight: also no MaxListenersExceededWarning from the shared abort signal.
    const result = await runCliOk(['put', `file://${tmp.path}/piped/`, '-n', '40', '-s', '25KiB', '-j', '32']);
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toMatch(ESCAPES);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^put: 40 objects, 1000\.0 KiB in [\d.]+ s \([\d.]+ MiB\/s, [\d.]+ objects\/s\)\n$/);
  });
});

/** Files below `dir` with their sizes. */
function sizes(dir: string): Map<string, number> {
  return new Map(readdirSync(dir).map((name) => [name, statSync(path.join(dir, name)).size]));
}

/** Resolves when `pattern` appears in the child's stderr (or stdout under a tty). */
function waitForOutput(child: ReturnType<typeof spawnCli>, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('utf8');
      if (pattern.test(seen)) resolve();
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.on('close', () => reject(new Error(`exited before ${pattern} appeared:\n${seen}`)));
  });
}

describe('Ctrl-C aborts the work in flight: exit 130, no partial object', () => {
  test('SIGINT during a file:// put: every object present is whole, no temp files, fewer than asked', async () => {
    const dir = path.join(tmp.path, 'interrupted');
    const child = spawnCli(['-v', 'put', `file://${dir}/`, '-n', '200', '-s', '8MiB', '-j', '4']);
    const done = completion(child);
    await waitForOutput(child, /^put .* B$/m);
    child.kill('SIGINT');
    const result = await done;
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/SIGINT: cancelling/);
    expect(result.stderr).toMatch(/interrupted; \d+ objects cancelled/);
    expect(result.stderr).not.toMatch(/ERR_ABORTED/); // cancellations are counted, not listed as failures
    const written = sizes(dir);
    expect(written.size).toBeGreaterThan(0);
    expect(written.size).toBeLessThan(200);
    for (const [name, size] of written) expect([name, size]).toEqual([name, 8 * 1024 * 1024]);
    expect(tempFilesIn(dir)).toEqual([]);
  });

  /** Resolves once `dir` holds a file (a quiet command prints nothing to wait for). */
  async function firstFileIn(dir: string): Promise<void> {
    for (;;) {
      if (existsSync(dir) && readdirSync(dir).length > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  test.each([
    ['--quiet', /SIGINT: cancelling[^]*interrupted; \d+ objects cancelled, none left partial/],
    ['--json', /^\{"type":"interrupted","signal":"SIGINT","cancelled":\d+\}$/m],
  ])('%s still reports the interruption (the work stopped short), and exits 130', async (flag, said) => {
    const dir = path.join(tmp.path, `interrupted${flag}`);
    const child = spawnCli([flag, 'put', `file://${dir}/`, '-n', '200', '-s', '8MiB', '-j', '4']);
    const done = completion(child);
    await firstFileIn(dir);
    child.kill('SIGINT');
    const result = await done;
    expect(result.stderr).toMatch(said);
    expect(result.code).toBe(130);
    expect(sizes(dir).size).toBeLessThan(200);
    expect(tempFilesIn(dir)).toEqual([]);
  });

  test('a real Ctrl-C typed on the terminal does the same', async () => {
    const dir = path.join(tmp.path, 'ctrl-c');
    const child = spawnCli(['put', `file://${dir}/`, '-n', '200', '-s', '8MiB', '-j', '4'], { tty: true });
    const done = completion(child);
    await waitForOutput(child, /put \[[█░]+\] \d+%.* [1-9]\d* objects/);
    child.stdin?.write('\x03'); // the terminal turns it into SIGINT for the foreground process
    const result = await done;
    expect(result.code).toBe(130);
    const written = sizes(dir);
    expect(written.size).toBeLessThan(200);
    for (const [name, size] of written) expect([name, size]).toEqual([name, 8 * 1024 * 1024]);
    expect(tempFilesIn(dir)).toEqual([]);
  });

  testWith(
    ['moto'],
    's3: SIGINT during multipart puts leaves no object and no open multipart upload behind',
    async () => {
      const s3 = cloudClis().find((cli) => cli.scheme === 's3');
      if (!s3) throw new Error('no s3 target');
      const bucket = `cli-sigint-${process.pid}`;
      await runCliOk([...s3.args, 'create-bucket', `s3://${bucket}/`], { env: s3.env });
      // 80 MiB objects are multipart uploads (above the 64 MiB threshold), two in flight.
      const child = spawnCli([...s3.args, '-v', 'put', `s3://${bucket}/big/`, '-n', '4', '-s', '80MiB', '-j', '2'], {
        env: s3.env,
      });
      const done = completion(child);
      await waitForOutput(child, /^put .* B$/m);
      child.kill('SIGINT');
      const result = await done;
      expect(result.code).toBe(130);

      const listing = await runCliOk([...s3.args, '--json', 'ls', '-r', `s3://${bucket}/`], { env: s3.env });
      const uris = listing.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as { uri: string }).uri);
      expect(uris.length).toBeGreaterThan(0);
      expect(uris.length).toBeLessThan(4);
      for (const uri of uris) {
        const stat = await runCliOk([...s3.args, '--json', 'stat', uri], { env: s3.env });
        expect(JSON.parse(stat.stdout)).toMatchObject({ uri, size: 80 * 1024 * 1024 });
      }
      expect(await stagedUploads(bucket)).toEqual([]);
      await runCliOk([...s3.args, 'delete-bucket', '--force', `s3://${bucket}/`], { env: s3.env });
    },
  );
});
