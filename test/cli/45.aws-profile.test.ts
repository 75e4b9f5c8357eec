/**
 * `--profile NAME`: s3:// commands take their credentials from a named profile of the shared AWS
 * files (through the SDK's own chain), as `aws --profile` does; an unknown profile is a clear error
 * that names it, and never prints a secret.
 */
import { writeFileSync } from 'fs';
import * as path from 'path';

import { useTempDir } from '../helpers/temp';
import { describeWith } from '../helpers/tools';
import { type CloudCli, cloudClis, jsonLines, runCli, runCliOk } from './cli';

const tmp = useTempDir('s3dlio-cli-profile-');
const SECRET = 'profile-secret-value-4242';

describeWith(['moto'], '--profile on s3://', () => {
  const s3 = (): CloudCli => {
    const cli = cloudClis().find((candidate) => candidate.scheme === 's3');
    if (!cli) throw new Error('no s3 test server');
    return cli;
  };
  /** Shared files with one profile and no default one; no key in the environment. */
  const env = (): Record<string, string> => {
    const credentials = path.join(tmp.path, 'credentials');
    const config = path.join(tmp.path, 'config');
    writeFileSync(
      credentials,
      `[training]\naws_access_key_id = ${s3().env.AWS_ACCESS_KEY_ID}\naws_secret_access_key = ${SECRET}\n`,
    );
    writeFileSync(config, '[profile other]\nregion = us-east-1\n');
    return {
      AWS_SHARED_CREDENTIALS_FILE: credentials,
      AWS_CONFIG_FILE: config,
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_PROFILE: '',
    };
  };
  const bucket = `cli-profile-${process.pid}`;

  test('without --profile there are no credentials: the command fails', async () => {
    const result = await runCli([...s3().args, 'ls', `s3://${bucket}/`], { env: env() });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no AWS credentials found.*\[ERR_ACCESS_DENIED\]/);
  });

  test('with --profile the profile signs every request: mb, put, ls, du, rb', async () => {
    const run = (args: string[]): ReturnType<typeof runCliOk> =>
      runCliOk([...s3().args, '--profile', 'training', ...args], { env: env() });
    await run(['mb', `s3://${bucket}/`]);
    await run(['put', `s3://${bucket}/p/`, '-n', '2', '-s', '1k']);
    const listing = await run(['ls', `s3://${bucket}/p/`]);
    expect(listing.stdout.split('\n').filter(Boolean).sort()).toEqual([
      `s3://${bucket}/p/object_0_of_2.bin`,
      `s3://${bucket}/p/object_1_of_2.bin`,
    ]);
    expect(jsonLines((await run(['--json', 'du', `s3://${bucket}/p/`])).stdout)).toEqual([
      { type: 'size', uri: `s3://${bucket}/p/`, objects: 2, bytes: 2048 },
    ]);
    await run(['rb', '--force', `s3://${bucket}/`]);
  });

  test('--profile wins over keys in the environment, without the SDK warning about two sources', async () => {
    // An absent bucket: the request is signed (with the profile) and answered NoSuchBucket.
    const result = await runCli([...s3().args, '--profile', 'training', 'ls', `s3://${bucket}-absent/`], {
      env: { ...env(), AWS_ACCESS_KEY_ID: 'from-env', AWS_SECRET_ACCESS_KEY: 'from-env-secret' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/\[ERR_BUCKET_NOT_FOUND\]\n$/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1); // no "Multiple credential sources" warning
  });

  test('an unknown profile: exit 1, the profile and the files named, no secret', async () => {
    const result = await runCli([...s3().args, '--profile', 'no-such-profile', 'ls', `s3://${bucket}/`], {
      env: env(),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no AWS credentials for profile "no-such-profile"/);
    expect(result.stderr).toContain(path.join(tmp.path, 'credentials'));
    expect(result.stderr).toMatch(/\[ERR_ACCESS_DENIED\]/);
    expect(result.stderr).not.toContain(SECRET);
  });
});
