/**
 * A listing is every key or an error, never silently a part: a page that says more follow but
 * gives no continuation token, or answers a token with that same token (which would ask for one
 * page forever), fails the listing. Against an S3-speaking server whose pages can be made wrong.
 */
import { createServer, type Server } from 'http';
import type { AddressInfo } from 'net';

import { storeFor } from '../../lib';
import { rejectionOf } from '../helpers/local';

type Mode = 'ok' | 'truncated-without-token' | 'same-token';

const PAGES = [['k/a', 'k/b'], ['k/c', 'k/d'], ['k/e']];

let server: Server;
let endpoint: string;
let mode: Mode = 'ok';
let listRequests = 0;

/** ListObjectsV2 pages of PAGES; token `page-N` asks for page N. */
function listPage(token: string | null): string {
  const index = token === null ? 0 : Number(/^page-(\d+)$/.exec(token)?.[1] ?? 0);
  const last = index === PAGES.length - 1;
  let next = last ? '' : `<NextContinuationToken>page-${index + 1}</NextContinuationToken>`;
  if (mode === 'truncated-without-token' && index === 1) next = '';
  if (mode === 'same-token' && index === 1) next = `<NextContinuationToken>${token}</NextContinuationToken>`;
  const contents = PAGES[index]
    .map(
      (key) =>
        `<Contents><Key>${key}</Key><LastModified>2030-01-01T00:00:00.000Z</LastModified><ETag>"e"</ETag><Size>1</Size></Contents>`,
    )
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
    `<Name>bucket</Name><Prefix>k/</Prefix><KeyCount>${PAGES[index].length}</KeyCount><MaxKeys>2</MaxKeys>` +
    `<IsTruncated>${last ? 'false' : 'true'}</IsTruncated>${contents}${next}</ListBucketResult>`
  );
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (
      req.method === 'GET' &&
      url.pathname.replace(/\/$/, '') === '/bucket' &&
      url.searchParams.get('list-type') === '2'
    ) {
      listRequests++;
      res
        .writeHead(200, { 'Content-Type': 'application/xml' })
        .end(listPage(url.searchParams.get('continuation-token')));
      return;
    }
    res.writeHead(404, { 'Content-Type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code></Error>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const store = () =>
  storeFor('s3://', {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    retryBaseDelayMs: 1,
  });

async function streamed(): Promise<string[]> {
  const out: string[] = [];
  for await (const uri of store().listStream('s3://bucket/k/', { recursive: true })) out.push(uri);
  return out;
}

test('well-formed pages: every key of every page, each page asked once', async () => {
  mode = 'ok';
  listRequests = 0;
  const all = PAGES.flat().map((key) => `s3://bucket/${key}`);
  expect(await store().list('s3://bucket/k/', { recursive: true })).toEqual(all);
  expect(listRequests).toBe(3);
  expect(await streamed()).toEqual(all);
});

test.each<[Mode, RegExp]>([
  ['truncated-without-token', /IsTruncated.*no NextContinuationToken/],
  ['same-token', /same token/],
])('%s: the listing fails (never the keys so far as if they were all)', async (wrong, message) => {
  mode = wrong;
  listRequests = 0;
  const error = await rejectionOf(store().list('s3://bucket/k/', { recursive: true }));
  expect(error).toMatchObject({ code: 'ERR_CLOUD', uri: 's3://bucket/k/' });
  expect(error.message).toMatch(message);
  expect(listRequests).toBe(2); // not retried, and not asked again and again
  const streamError = await rejectionOf(streamed());
  expect(streamError).toMatchObject({ code: 'ERR_CLOUD' });
  expect(streamError.message).toMatch(message);
});
