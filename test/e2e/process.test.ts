import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startProcess } from '../support/process.js';

async function waitFor(predicate: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('the server process', () => {
  it('refuses to start on a bad value with one line naming the variable', async () => {
    const p = startProcess({ PORT: 'eighty' });
    expect(await p.exited).toBe(78);
    expect(p.output().trim()).toBe('Invalid configuration: PORT="eighty": expected a whole number from 0 to 65535');
  });

  it('refuses to start in production without auth settings', async () => {
    const p = startProcess({ NODE_ENV: 'production', FILE_URL_SECRET: 'f'.repeat(32) });
    expect(await p.exited).toBe(78);
    expect(p.output()).toMatch(/AUTH_JWT_SECRET and AUTH_JWKS_URL are both unset/);
  });

  it('on SIGTERM stops accepting, finishes the request in flight, closes the store and exits 0', async () => {
    dir = await mkdtemp(join(tmpdir(), 'his-proc-'));
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const p = startProcess({
      PORT: String(port),
      SQLITE_PATH: join(dir, 'm.sqlite'),
      STORAGE_DIR: join(dir, 's'),
      LOG_LEVEL: 'info',
    });
    await waitFor(() => p.output().includes('listening'), 20_000);

    // A request whose body is only half sent when the signal arrives.
    const body = JSON.stringify({ query: 'mutation { createConversation(input: { title: "in flight" }) { title } }' });
    const socket = connect(port, '127.0.0.1');
    let response = '';
    socket.on('data', (d) => (response += d.toString()));
    const closed = new Promise((r) => socket.on('close', r));
    await new Promise((r) => socket.on('connect', r));
    socket.write(
      `POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body.slice(0, 20)}`,
    );
    await new Promise((r) => setTimeout(r, 200));
    p.child.kill('SIGTERM');
    await waitFor(() => p.output().includes('shutting down'), 5000);

    // New connections are refused while the old one is drained.
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();

    socket.write(body.slice(20));
    await closed;
    expect(response).toMatch(/^HTTP\/1.1 200/);
    expect(response).toContain('"title":"in flight"');
    expect(await p.exited).toBe(0);
    expect(p.output()).toContain('shutdown complete');
  });
});
