import { get, put } from '../../lib';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir();

test('put then get round-trips bytes on file:// and direct://', async () => {
  const data = new Uint8Array(10_000).map((_, i) => i % 251);
  await put(tmp.uri('file', 'a.bin'), data);
  expect(Buffer.from(await get(tmp.uri('direct', 'a.bin'))).equals(Buffer.from(data))).toBe(true);
});
