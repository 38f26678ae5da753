import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostImagesEmulator, type Emulator } from '../support/emulators.js';
import { eventually } from '../support/eventually.js';
import { TEST_FILE_URL_SECRET } from '../support/factories.js';
import { liveSubscriptions, startProcess } from '../support/process.js';
import { freePort } from '../support/server.js';
import { collect, wsClient } from '../support/ws-client.js';

/**
 * Live updates across server processes: two servers (each its own process, as two replicas of
 * a deployment) on one SQLite file and one STORAGE_DIR. A client subscribed on one sees what is
 * written through the other, and what the replication worker of either records.
 */
const coffee = await readFile('test/fixtures/coffee.png');
const IMAGE_EVENTS =
  'subscription($c: ID!) { imageEvents(conversationId: $c) { kind imageId image { id replicationStatus } } }';

interface Proc {
  url: string;
  child: ChildProcess;
  output: () => string;
}

async function startServer(env: Record<string, string>): Promise<Proc> {
  const port = await freePort();
  const { child, output } = startProcess({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env });
  await eventually(output, (o) => o.includes('listening'), 30_000, 50);
  return { url: `http://127.0.0.1:${port}`, child, output };
}

async function gql<T>(p: Proc, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(`${p.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-user-id': 'alice' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

describe('live updates across two server processes on one store', () => {
  let dir: string;
  let cloud: Emulator;
  let a: Proc;
  let b: Proc;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'his-live-'));
    cloud = await startPostImagesEmulator();
    const shared = {
      SQLITE_PATH: join(dir, 'metadata.sqlite'),
      STORAGE_DIR: join(dir, 'storage'),
      FILE_URL_SECRET: TEST_FILE_URL_SECRET,
      IMAGE_PROCESS_TIMEOUT_SECONDS: '120',
    };
    // Only A has a cloud provider, so its worker records every REPLICATED; B only watches.
    a = await startServer({
      ...shared,
      POSTIMAGES_API_KEY: cloud.apiKey,
      POSTIMAGES_API_URL: cloud.apiUrl,
      CLOUD_PROVIDERS: 'postimages',
      REPLICATION_POLL_MS: '100',
    });
    b = await startServer(shared);
  }, 60_000);
  afterAll(async () => {
    for (const p of [a, b]) {
      if (!p) continue;
      p.child.kill('SIGTERM');
      await new Promise((r) => p.child.once('exit', r));
    }
    await cloud?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("a subscriber on B sees A's upload, A's worker's REPLICATED and A's deletion, in order", async () => {
    const { createConversation } = await gql<{ createConversation: { id: string } }>(
      a,
      'mutation { createConversation(input: { title: "two" }) { id } }',
    );
    const client = wsClient(b.url, { 'x-user-id': 'alice' });
    try {
      const events = collect<{
        imageEvents: { kind: string; imageId: string; image: { replicationStatus: string } | null };
      }>(client, IMAGE_EVENTS, { c: createConversation.id });
      await eventually(
        () => liveSubscriptions(b.url),
        (n) => n >= 1,
        10_000,
        20,
      );
      const { uploadImage } = await gql<{ uploadImage: { image: { id: string } } }>(
        a,
        'mutation($c: ID!, $d: String!) { uploadImage(input: { conversationId: $c, base64: $d, waitForCloud: false }) { image { id } } }',
        { c: createConversation.id, d: coffee.toString('base64') },
      );
      const id = uploadImage.image.id;
      // The REPLICATION_CHANGED event itself, not any event showing REPLICATED: an event carries the
      // image as it is when delivered, so B's ADDED may already show REPLICATED, and a delete sent
      // then would reach the REPLICATION_CHANGED event's read first (image null).
      const replicated = (e: (typeof events.received)[number]) =>
        e.data?.imageEvents.kind === 'REPLICATION_CHANGED' &&
        e.data.imageEvents.image?.replicationStatus === 'REPLICATED';
      await events.until((r) => r.some(replicated), 20_000);
      await gql(a, 'mutation($id: ID!) { deleteImage(id: $id) { deletedImageId } }', { id });
      await events.until((r) => r.some((e) => e.data?.imageEvents.kind === 'DELETED'), 20_000);
      const kinds = events.received.map((e) => e.data!.imageEvents);
      expect(kinds[0]).toMatchObject({ kind: 'ADDED', imageId: id });
      expect(kinds.some((k) => k.kind === 'REPLICATION_CHANGED' && k.image?.replicationStatus === 'REPLICATED')).toBe(
        true,
      );
      expect(kinds.at(-1)).toEqual({ kind: 'DELETED', imageId: id, image: null });
      expect(kinds.every((k) => k.imageId === id)).toBe(true);
    } finally {
      await client.dispose();
    }
  }, 60_000);
});
