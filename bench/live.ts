/**
 * Live updates: how soon subscribers see what happens, and what an idle connection costs.
 *
 * Built servers started as `npm start` does (scripts/start.sh), a PostImages emulator on
 * loopback as the cloud, 100 graphql-ws clients (one WebSocket each, as 100 open browser tabs)
 * subscribed to `imageEvents` of one conversation, 30 uploads in turn (`waitForCloud: false`):
 *
 * - ADDED: from `uploadImage`'s answer reaching the client to each subscriber's event (negative
 *   when the event beat the answer, as it may: the change is recorded before the answer is sent);
 * - REPLICATED: from the worker recording it (the `at` of its row in the change log, the
 *   server's clock; this machine's clock on both sides) to each subscriber's event;
 * - the same ADDED figure with the 100 subscribers on a second server over the same SQLite file
 *   (the change log read every CHANGES_POLL_MS, 50 ms);
 * - memory: the server's RSS before and after 1,000 idle connections holding one subscription.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startPostImagesEmulator } from '../test/support/emulators.js';
import { TEST_FILE_URL_SECRET } from '../test/support/factories.js';
import { liveSubscriptions } from '../test/support/process.js';
import { round } from './lib.js';
import { startServer } from './upload.js';

const IMAGE_EVENTS =
  'subscription($c: ID!) { imageEvents(conversationId: $c) { kind imageId image { replicationStatus } } }';
const now = () => performance.timeOrigin + performance.now();

function quantiles(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => round(s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN, 1);
  return { samples: s.length, p50: q(0.5), p99: q(0.99), max: round(s.at(-1) ?? NaN, 1) };
}

async function gql<T>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-user-id': 'bench' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

type Arrival = { kind: string; imageId: string; status: string | null; at: number };

/** `n` clients, each its own connection and subscription; every event they get, with its arrival time. */
async function subscribers(url: string, n: number, conversationId: string) {
  const arrivals: Arrival[][] = [];
  const clients: Client[] = [];
  for (let i = 0; i < n; i++) {
    const mine: Arrival[] = [];
    arrivals.push(mine);
    const client = createClient({
      url: `${url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { 'x-user-id': 'bench' },
      retryAttempts: 0,
    });
    clients.push(client);
    client.subscribe<{ imageEvents: { kind: string; imageId: string; image: { replicationStatus: string } | null } }>(
      { query: IMAGE_EVENTS, variables: { c: conversationId } },
      {
        next: ({ data }) =>
          data &&
          mine.push({
            kind: data.imageEvents.kind,
            imageId: data.imageEvents.imageId,
            status: data.imageEvents.image?.replicationStatus ?? null,
            at: now(),
          }),
        error: (e) => console.error('subscriber error', e),
        complete: () => undefined,
      },
    );
  }
  return { arrivals, dispose: () => Promise.all(clients.map((c) => c.dispose())) };
}

export async function benchLive(o: { subscribers?: number; rounds?: number; idleConnections?: number } = {}) {
  const n = o.subscribers ?? 100;
  const rounds = o.rounds ?? 30;
  const idle = o.idleConnections ?? 1000;
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
  const image = (await readFile('test/fixtures/chelsea.png')).toString('base64');
  const dir = await mkdtemp(join(tmpdir(), 'his-bench-live-'));
  const cloud = await startPostImagesEmulator();
  const shared = {
    FILE_URL_SECRET: TEST_FILE_URL_SECRET,
    SUBSCRIPTIONS_PER_USER: '100000',
    WS_MAX_CONNECTIONS: '100000',
  };
  const a = await startServer(dir, {
    ...shared,
    POSTIMAGES_API_KEY: cloud.apiKey,
    POSTIMAGES_API_URL: cloud.apiUrl,
    CLOUD_PROVIDERS: 'postimages',
    REPLICATION_POLL_MS: '100',
  });
  // B: the same SQLite file and STORAGE_DIR, no provider: it only watches.
  const b = await startServer(dir, shared);
  const db = new Database(join(dir, 'metadata.sqlite'), { readonly: true });
  try {
    const { createConversation } = await gql<{ createConversation: { id: string } }>(
      a.url,
      'mutation { createConversation(input: { title: "live bench" }) { id } }',
    );
    const c = createConversation.id;
    const upload = async (url: string) => {
      const data = await gql<{ uploadImage: { image: { id: string } } }>(
        url,
        'mutation($c: ID!, $d: String!) { uploadImage(input: { conversationId: $c, base64: $d, waitForCloud: false }) { image { id } } }',
        { c, d: image },
      );
      return { id: data.uploadImage.image.id, answeredAt: now() };
    };
    const run = async (watch: string, label: string) => {
      const subs = await subscribers(watch, n, c);
      await waitFor(async () => (await liveSubscriptions(watch)) >= n, 30_000);
      const added: number[] = [];
      const replicated: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const { id, answeredAt } = await upload(a.url);
        await waitFor(
          async () => subs.arrivals.every((mine) => mine.some((e) => e.imageId === id && e.status === 'REPLICATED')),
          30_000,
        );
        const recorded = db
          .prepare("SELECT at FROM changes WHERE image_id = ? AND kind = 'IMAGE_CHANGED' ORDER BY seq DESC LIMIT 1")
          .pluck()
          .get(id) as number;
        for (const mine of subs.arrivals) {
          added.push(mine.find((e) => e.imageId === id && e.kind === 'ADDED')!.at - answeredAt);
          replicated.push(mine.find((e) => e.imageId === id && e.status === 'REPLICATED')!.at - recorded);
        }
      }
      await subs.dispose();
      await waitFor(async () => (await liveSubscriptions(watch)) === 0, 30_000);
      return { [label]: { addedAfterAnswerMs: quantiles(added), replicatedAfterRecordMs: quantiles(replicated) } };
    };
    const sameServer = await run(a.url, 'subscribersOnTheUploadingServer');
    const otherServer = await run(b.url, 'subscribersOnAnotherServer');

    // Idle connections: each one subscription, nothing happening.
    await new Promise((r) => setTimeout(r, 1000));
    const before = await b.rssMb();
    const idleSubs = await subscribers(b.url, idle, c);
    await waitFor(async () => (await liveSubscriptions(b.url)) >= idle, 60_000);
    await new Promise((r) => setTimeout(r, 2000));
    const after = await b.rssMb();
    await idleSubs.dispose();
    return {
      name: `live: ${n} subscribers on one conversation (one WebSocket each), ${rounds} uploads; idle cost over ${idle} connections`,
      ...sameServer,
      ...otherServer,
      idle: {
        connections: idle,
        rssBeforeMb: before,
        rssAfterMb: after,
        kbPerIdleConnection: round(((after - before) * 1024) / idle, 1),
      },
      targets: { addedAfterAnswerMs: '<= 100', replicatedAfterRecordMs: '<= 100' },
    };
  } finally {
    db.close();
    await a.stop();
    await b.stop();
    await cloud.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
