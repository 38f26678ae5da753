import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('GraphiQL at GET /graphql, served by this server alone', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('answers a browser with GraphiQL whose every script and style is served from this server', async () => {
    const res = await fetch(`${server.url}/graphql`, { headers: { accept: BROWSER_ACCEPT } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs).toEqual([
      '/favicon.svg',
      '/_playground/graphiql.css',
      '/_playground/react.js',
      '/_playground/react-dom.js',
      '/_playground/graphiql.js',
      '/_playground/init.js',
    ]);
    let maps = 0;
    for (const ref of refs.filter((r) => r.startsWith('/_playground/'))) {
      const asset = await fetch(`${server.url}${ref}`);
      expect(asset.status, ref).toBe(200);
      expect(asset.headers.get('content-type'), ref).toMatch(ref.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
      const body = await asset.text();
      expect(body.length, ref).toBeGreaterThan(ref.endsWith('init.js') ? 100 : 5000);
      // Nothing the page loads fetches from elsewhere: no remote imports or stylesheets.
      expect(body).not.toMatch(/@import\s+url\(\s*["']?https?:/);
      // A source map it names is served too (developer tools ask for it), from beside the asset.
      const map = /[#@] sourceMappingURL=(\S+?)(?:\s*\*\/)?\s*$/.exec(body)?.[1];
      if (map) {
        const mapped = await fetch(new URL(map, `${server.url}${ref}`));
        expect(mapped.status, `${ref} -> ${map}`).toBe(200);
        expect(((await mapped.json()) as { version: number }).version).toBe(3);
        maps++;
      }
    }
    // graphiql.js and graphiql.css name theirs: the check above ran.
    expect(maps).toBeGreaterThanOrEqual(2);
    expect(await fetch(`${server.url}/_playground/graphiql.js`).then((r) => r.text())).toContain('createFetcher');
    // Dev identity mode: the header editor starts with the dev user.
    expect(html).toContain('x-user-id');
  });

  it('gives both pages an icon: /favicon.svg as linked, and a 32 px PNG at /favicon.ico for clients that ask for it', async () => {
    for (const path of ['/graphql', '/']) {
      const html = await fetch(`${server.url}${path}`, { headers: { accept: BROWSER_ACCEPT } }).then((r) => r.text());
      expect(html, path).toMatch(/<link rel="icon" href="\/favicon\.svg" type="image\/svg\+xml" ?\/?>/);
    }
    const svg = await fetch(`${server.url}/favicon.svg`);
    expect(svg.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect(await svg.text()).toMatch(/^<svg [^>]*viewBox="0 0 32 32"/);
    for (let i = 0; i < 2; i++) {
      const ico = await fetch(`${server.url}/favicon.ico`);
      expect(ico.status).toBe(200);
      expect(ico.headers.get('content-type')).toBe('image/png');
      expect(await sharp(Buffer.from(await ico.arrayBuffer())).metadata()).toMatchObject({
        format: 'png',
        width: 32,
        height: 32,
      });
    }
  });

  it('leaves every other request to the GraphQL endpoint', async () => {
    const json = await fetch(`${server.url}/graphql`, { headers: { accept: 'application/json' } });
    expect(json.headers.get('content-type')).not.toMatch(/text\/html/);
    const post = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: BROWSER_ACCEPT },
      body: JSON.stringify({ query: '{ providers { name } }' }),
    });
    expect(((await post.json()) as { data: unknown }).data).toEqual({
      providers: [{ name: 'S3' }, { name: 'POSTIMAGES' }, { name: 'IMGBB' }],
    });
    expect(await fetch(`${server.url}/_playground/nothing.js`).then((r) => r.status)).toBe(404);
  });
});

it('is not served when introspection is off (production default)', async () => {
  const server = await startTestServer({ env: { GRAPHQL_INTROSPECTION: 'false' } });
  try {
    const res = await fetch(`${server.url}/graphql`, { headers: { accept: BROWSER_ACCEPT } });
    expect(res.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
    expect(await fetch(`${server.url}/_playground/graphiql.js`).then((r) => r.status)).toBe(404);
    // And the schema cannot be introspected, while ordinary queries still run.
    const introspect = async (query: string) => {
      const r = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query }),
      });
      return (await r.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
    };
    const schema = await introspect('{ __schema { types { name } } }');
    expect(schema.data ?? null).toBeNull();
    expect(schema.errors?.[0]?.message).toMatch(/introspection/i);
    expect((await introspect('{ providers { name } }')).errors).toBeUndefined();
  } finally {
    await server.stop();
  }
});
