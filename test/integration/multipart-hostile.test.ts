import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { print } from 'graphql';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateConversationDocument, UploadImageDocument } from '../generated/graphql.js';
import { rawRequest, type RawAnswer } from '../support/raw-http.js';
import { as, startTestServer, type TestServer } from '../support/server.js';
import { snapshotSqlite } from '../support/snapshot.js';
import { prng } from '../support/prng.js';

/**
 * Malformed multipart bodies, sent byte for byte as an attacker would. Each must get a 4xx
 * answer with a code (or, for a body the client itself cut short, at least leave the server
 * up), leave nothing in `.tmp/`, and leave the stored rows as they were. Before the parser
 * was patched (patches/graphql-upload-minimal+*.patch), the first three cases below ended
 * the process: busboy's second error had no listener.
 */

// The API's codes, and Apollo's own for a request that is not a GraphQL request at all.
const CODES = new Set([
  'BAD_USER_INPUT',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'NOT_FOUND',
  'UNAUTHENTICATED',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
]);
const MAX_UPLOAD_BYTES = 64 * 1024;

let server: TestServer;
let conversationId: string;
let tiny: Buffer;

beforeAll(async () => {
  server = await startTestServer({ env: { MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES), MAX_FILES: '3' } });
  const c = await server.gql(CreateConversationDocument, { input: { title: 'hostile' } }, as('alice'));
  conversationId = c.data!.createConversation.id;
  tiny = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#3a6' } })
    .png()
    .toBuffer();
});
afterAll(async () => {
  await server.stop();
});

const B = 'XyZboundary';
function part(name: string, value: Buffer | string, extra = ''): Buffer {
  return Buffer.concat([
    Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="${name}"${extra}\r\n\r\n`, 'latin1'),
    Buffer.isBuffer(value) ? value : Buffer.from(value),
    Buffer.from('\r\n'),
  ]);
}
function validBody(file: Buffer = tiny): Buffer {
  const operations = JSON.stringify({
    query: print(UploadImageDocument),
    variables: { input: { conversationId, file: null } },
  });
  return Buffer.concat([
    part('operations', operations),
    part('map', JSON.stringify({ 0: ['variables.input.file'] })),
    part('0', file, '; filename="a.png"\r\nContent-Type: image/png'),
    Buffer.from(`--${B}--\r\n`),
  ]);
}
const headers = {
  'content-type': `multipart/form-data; boundary=${B}`,
  'apollo-require-preflight': 'true',
  ...as('alice'),
};

function send(body: Buffer, o: { truncate?: number; contentType?: string } = {}): Promise<RawAnswer> {
  return rawRequest(server.url, {
    headers: { ...headers, ...(o.contentType ? { 'content-type': o.contentType } : {}) },
    body,
    ...(o.truncate === undefined ? {} : { truncate: o.truncate }),
  });
}

function expectCoded(res: RawAnswer): string {
  expect(res.status, res.body).toBeGreaterThanOrEqual(400);
  expect(res.status, res.body).toBeLessThan(500);
  const json = JSON.parse(res.body) as { errors: { message: string; extensions: { code: string } }[] };
  const code = json.errors[0]!.extensions.code;
  expect(CODES, `${code}: ${json.errors[0]!.message}`).toContain(code);
  expect(res.body).not.toMatch(/node_modules|\/tmp\/|at \w+ \(/);
  return code;
}

async function tmpEntries(): Promise<string[]> {
  try {
    return await readdir(join(server.storageDir, '.tmp'));
  } catch {
    return [];
  }
}

async function expectUp(): Promise<void> {
  const res = await fetch(`${server.url}/healthz`);
  expect(res.status).toBe(200);
}

/** Waits until `.tmp/` is empty: a refused upload's `.part` file is removed as its stream fails. */
async function expectTmpEmpty(): Promise<void> {
  for (let i = 0; i < 50 && (await tmpEntries()).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  expect(await tmpEntries()).toEqual([]);
}

describe('malformed multipart bodies are refused and the process stays up', () => {
  it('a part header with a control byte: 400 BAD_USER_INPUT (it used to end the process)', async () => {
    const body = Buffer.from(
      `--B\r\nContent-Disposition: form-data; name="operations"\r\nX\x01Bad: y\r\n\r\n{}\r\n--B--\r\n`,
      'latin1',
    );
    const res = await send(body, { contentType: 'multipart/form-data; boundary=B' });
    expect(expectCoded(res)).toBe('BAD_USER_INPUT');
    await expectUp();
  });

  it('a NUL byte in a file name: refused with a code, nothing left in .tmp', async () => {
    const before = snapshotSqlite(server.sqlitePath);
    const body = validBody().toString('latin1').replace('filename="a.png"', 'filename="a\x00.png"');
    expectCoded(await send(Buffer.from(body, 'latin1')));
    await expectUp();
    await expectTmpEmpty();
    expect(snapshotSqlite(server.sqlitePath)).toEqual(before);
  });

  it('a 100 KB part name: refused with a code', async () => {
    const body = validBody()
      .toString('latin1')
      .replace('name="operations"', `name="${'o'.repeat(100_000)}"`);
    expectCoded(await send(Buffer.from(body, 'latin1')));
    await expectUp();
  });

  it('a multipart content type without a boundary: 400, not a masked 500', async () => {
    const res = await send(validBody(), { contentType: 'multipart/form-data; charset=utf-8' });
    expect(expectCoded(res)).toBe('BAD_USER_INPUT');
  });

  it('a multipart body with no parts at all: 400, not a masked 500', async () => {
    const res = await send(Buffer.from(`--${B}--\r\n`));
    expect(expectCoded(res)).toBe('BAD_USER_INPUT');
  });

  it('a body cut off inside the file: no answer is owed, but the server stays up and .tmp is clean', async () => {
    const big = Buffer.concat([tiny, Buffer.alloc(40_000, 7)]);
    const body = validBody(big);
    const res = await send(body, { truncate: body.length - 20_000 });
    if (res.status !== 0) expectCoded(res);
    await expectUp();
    await expectTmpEmpty();
  });

  it('the valid body the fuzzer mutates is itself accepted', async () => {
    const res = await send(validBody());
    expect(res.status, res.body).toBe(200);
    const image = (
      JSON.parse(res.body) as {
        data: { uploadImage: { image: { id: string; localUrl: string } & Record<string, unknown> } };
      }
    ).data.uploadImage.image;
    expect(image).toMatchObject({ mimeType: 'image/jpeg', width: 8, height: 8 });
    // Stored and served: the mutated bodies below start from a body that really works.
    expect((await fetch(image.localUrl)).status).toBe(200);
  });
});

const NASTY = [
  '\x00',
  '\x01',
  '\r',
  '\n',
  '\r\n',
  '"',
  ';',
  '--',
  `--${B}`,
  `--${B}--`,
  '\xff',
  'é',
  '%00',
  '\\',
  '=',
  ' ',
  '\t',
  "filename*=utf-8''%00",
];

function mutate(base: Buffer, r: () => number): { body: Buffer; truncate?: number; contentType?: string } {
  let s = base.toString('latin1');
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const at = () => Math.floor(r() * s.length);
  const rounds = 1 + Math.floor(r() * 3);
  let contentType: string | undefined;
  let truncate: number | undefined;
  for (let i = 0; i < rounds; i++) {
    switch (Math.floor(r() * 10)) {
      case 0: {
        // Flip a byte in the first kilobyte, where the part headers are.
        const p = Math.floor(r() * Math.min(s.length, 1024));
        s = s.slice(0, p) + String.fromCharCode(Math.floor(r() * 256)) + s.slice(p + 1);
        break;
      }
      case 1: {
        const p = at();
        s = s.slice(0, p) + pick(NASTY) + s.slice(p);
        break;
      }
      case 2: {
        const p = at();
        s = s.slice(0, p) + s.slice(p + 1 + Math.floor(r() * 40));
        break;
      }
      case 3:
        s = s.replace(
          pick(['name="operations"', 'name="map"', 'name="0"', 'filename="a.png"']),
          `name="${'n'.repeat(Math.floor(r() * 200_000))}"`,
        );
        break;
      case 4:
        s = s.replace(pick(['Content-Disposition', 'form-data', 'Content-Type: image/png', '\r\n\r\n']), pick(NASTY));
        break;
      case 5:
        contentType = pick([
          `multipart/form-data; boundary=${B}x`,
          'multipart/form-data; boundary=',
          'multipart/form-data;',
          `multipart/form-data; boundary="${B}`,
          `multipart/form-data; boundary=${'b'.repeat(300)}`,
          `multipart/mixed; boundary=${B}`,
          `multipart/form-data; boundary=${B}; boundary=other`,
        ]);
        break;
      case 6:
        truncate = Math.floor(r() * s.length);
        break;
      case 7: {
        // Repeat a part: two `operations`, two `map`s, or the file twice.
        const parts = s.split(`--${B}`);
        const k = 1 + Math.floor(r() * Math.max(1, parts.length - 2));
        parts.splice(k, 0, parts[k] ?? '');
        s = parts.join(`--${B}`);
        break;
      }
      case 8:
        s = s.replace(
          /\{"0":\["variables\.input\.file"\]\}/,
          pick([
            '{"0":["variables.input.__proto__"]}',
            '{"0":"x"}',
            '[]',
            '{"0":["variables.nope.deep.path"]}',
            '{"0":["variables.input.file"],"1":["variables.input.file"],"2":["x"],"3":["y"]}',
            'null',
            '{"0":[""]}',
            '{"0":["variables.input.conversationId.length"]}',
          ]),
        );
        break;
      default:
        s = s
          .replace('"query"', pick(['"quer"', '"query":1,"x"', '"query":null,"q"']))
          .replace('"variables"', pick(['"variables"', '"variables":[],"v"']));
    }
  }
  return {
    body: Buffer.from(s, 'latin1'),
    ...(truncate === undefined ? {} : { truncate }),
    ...(contentType ? { contentType } : {}),
  };
}

describe('a seeded fuzz of multipart bodies', () => {
  const SEED = Number(process.env['FUZZ_SEED'] ?? 20261206);
  const CASES = Number(process.env['FUZZ_CASES'] ?? 2000);

  it(
    `answers ${CASES} mutated bodies (seed ${SEED}) with a code, keeps the server up and .tmp clean`,
    { timeout: 120_000 },
    async () => {
      const r = prng(SEED);
      const base = validBody();
      const cases = Array.from({ length: CASES }, () => mutate(base, r));
      const seen = new Map<string, number>();
      let next = 0;
      const worker = async () => {
        while (next < cases.length) {
          const i = next++;
          const c = cases[i]!;
          let res: RawAnswer;
          try {
            res = await send(c.body, c);
          } catch (e) {
            throw new Error(`case ${i} (seed ${SEED}) got no answer: ${(e as Error).message}`);
          }
          let key: string;
          if (res.status === 0) {
            // Only a body the client itself cut short may go unanswered.
            expect(c.truncate, `case ${i} (seed ${SEED}) was not cut short but got no answer`).toBeDefined();
            key = 'no answer (cut short)';
          } else if (res.status === 200) {
            // A body whose damage the parser cannot see (a mangled query, a file that is not an
            // image) runs as an operation and fails in it; that error must be coded too.
            const json = JSON.parse(res.body) as { errors?: { message: string; extensions: { code: string } }[] };
            const code = json.errors?.[0]?.extensions.code;
            if (code !== undefined)
              expect(CODES, `case ${i} (seed ${SEED}): ${code}: ${json.errors![0]!.message}`).toContain(code);
            key = code === undefined ? '200 ok' : `200 ${code}`;
          } else {
            let code: string;
            try {
              code = expectCoded(res);
            } catch (e) {
              throw new Error(
                `case ${i} (seed ${SEED}): ${(e as Error).message}\n${res.status} ${res.body.slice(0, 300)}`,
              );
            }
            key = `${res.status} ${code}`;
          }
          seen.set(key, (seen.get(key) ?? 0) + 1);
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
      console.warn(
        `multipart fuzz, seed ${SEED}: ${JSON.stringify(Object.fromEntries([...seen].sort((a, b) => b[1] - a[1])))}`,
      );
      await expectUp();
      await expectTmpEmpty();
      // The fuzz must have reached the parser's error paths, not just one refusal.
      expect(seen.size).toBeGreaterThan(3);
    },
  );
});
