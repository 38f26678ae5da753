/**
 * Upload budgets per provider against the PostImages and ImgBB emulators: a spent provider is
 * skipped before any request, the count lives in the store (shared by two server processes on
 * one SQLite file, kept across a restart), and it shows in `providers` and `/metrics`.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateConversationDocument, ProvidersDocument, UploadImageDocument } from '../generated/graphql.js';
import { startChainEmulators, type Emulator } from '../support/emulators.js';
import { startChainServer } from '../support/chain-server.js';
import { as, startTestServer, type TestServer } from '../support/server.js';
import { countingStore } from '../support/counting-store.js';

const coffee = await readFile('test/fixtures/coffee.png');
let n = 0;
/** A different small photo each time (the same bytes of one owner would reuse a cloud copy). */
const photo = () =>
  sharp(coffee)
    .extract({ left: 5 + (n++ % 40) * 3, top: 5, width: 120, height: 90 })
    .png()
    .toBuffer();

async function upload(server: TestServer, user = 'alice') {
  const c = await server.gql(CreateConversationDocument, { input: {} }, as(user));
  const res = await server.gql(
    UploadImageDocument,
    {
      input: {
        conversationId: c.data!.createConversation.id,
        base64: (await photo()).toString('base64'),
        waitForCloud: true,
      },
    },
    as(user),
  );
  expect(res.errors).toBeUndefined();
  return res.data!.uploadImage.image;
}

const nextMonth = () => {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
};

describe('provider budgets', () => {
  let postimages: Emulator;
  let imgbb: Emulator;
  let stopEmulators: () => Promise<void>;
  let dir: string;
  let a: TestServer;
  let b: TestServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    let chainEnv: Record<string, string>;
    ({ postimages, imgbb, env: chainEnv, stop: stopEmulators } = await startChainEmulators());
    dir = await mkdtemp(join(tmpdir(), 'his-budgets-'));
    env = {
      ...chainEnv,
      // A month: no window rolls over while the test runs (rollover is unit-tested with a clock).
      POSTIMAGES_BUDGET: '3/month',
      IMGBB_BUDGET: 'off',
    };
    a = await startTestServer({ dir, keepDir: true, env });
    b = await startTestServer({ dir, keepDir: true, env });
  });
  afterAll(async () => {
    await a.stop();
    await b.stop();
    await stopEmulators();
    await rm(dir, { recursive: true, force: true });
  });

  it('says at start which providers are active, in order, with their budgets, and that PostImages forbids programmatic uploads', () => {
    const msgs = a.logs.map((l) => String(l['msg']));
    expect(msgs).toContain('cloud providers, in order: postimages (3/month), imgbb');
    expect(
      msgs.filter((m) =>
        /^PostImages' terms of use forbid automatic\/programmatic uploads \(https:\/\/postimages\.org\/terms\)/.test(m),
      ),
    ).toHaveLength(1);
  });

  it('sends the fourth upload to the next provider, with no request to the spent one', async () => {
    for (let i = 0; i < 3; i++) expect((await upload(a)).service).toBe('POSTIMAGES');
    expect(postimages.requests).toBe(3);
    const fourth = await upload(a);
    expect(fourth).toMatchObject({ service: 'IMGBB', replicationStatus: 'REPLICATED' });
    expect(postimages.requests).toBe(3);
    expect(imgbb.requests).toBe(1);
    await upload(a);
    expect(postimages.requests).toBe(3);
    // Logged once for the window, not once per upload.
    expect(
      a.logs.filter((l) => l['msg'] === 'a cloud provider is skipped: its upload budget for this window is spent'),
    ).toHaveLength(1);
  });

  it('shows the budget, what is used and when it resets in providers and /metrics', async () => {
    const providers = (await a.gql(ProvidersDocument, {}, as('alice'))).data!.providers;
    expect(providers.find((p) => p.name === 'POSTIMAGES')!.budget).toEqual({
      limit: 3,
      per: 'month',
      used: 3,
      resetsAt: nextMonth().toISOString(),
    });
    expect(providers.find((p) => p.name === 'IMGBB')!.budget).toBeNull();
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    expect(metrics).toMatch(/his_provider_budget_limit\{provider="postimages",per="month"\} 3/);
    expect(metrics).toMatch(/his_provider_budget_used\{provider="postimages",per="month"\} 3/);
    expect(metrics).toContain(
      `his_provider_budget_resets_at_seconds{provider="postimages",per="month"} ${nextMonth().getTime() / 1000}`,
    );
    expect(metrics).toMatch(/his_provider_budget_skips_total\{provider="postimages"\} 2/);
    expect(metrics).not.toMatch(/his_provider_budget_limit\{provider="imgbb"/);
  });

  it('is one count for two server processes on the store, and a restart keeps it', async () => {
    expect((await upload(b)).service).toBe('IMGBB');
    expect(postimages.requests).toBe(3);
    const seen = (await b.gql(ProvidersDocument, {}, as('bob'))).data!.providers;
    expect(seen.find((p) => p.name === 'POSTIMAGES')!.budget).toMatchObject({ used: 3 });

    await a.stop();
    a = await startTestServer({ dir, keepDir: true, env });
    expect((await upload(a)).service).toBe('IMGBB');
    expect(postimages.requests).toBe(3);
  });

  it('a raised budget opens the provider again at once', async () => {
    await a.stop();
    a = await startTestServer({ dir, keepDir: true, env: { ...env, POSTIMAGES_BUDGET: '4/month' } });
    expect((await upload(a)).service).toBe('POSTIMAGES');
    expect(postimages.requests).toBe(4);
    expect((await upload(a)).service).toBe('IMGBB');
  });
});

describe('every budget spent', () => {
  let postimages: Emulator;
  let imgbb: Emulator;
  let stop: () => Promise<void>;
  let server: TestServer;

  beforeAll(async () => {
    ({ postimages, imgbb, server, stop } = await startChainServer({
      POSTIMAGES_BUDGET: '1/month',
      IMGBB_BUDGET: '1/month',
      REPLICATION_MAX_ATTEMPTS: '2',
    }));
  });
  afterAll(() => stop());

  it('keeps the image local and waits for the first reset, using up no attempt and sending nothing', async () => {
    expect((await upload(server)).service).toBe('POSTIMAGES');
    expect((await upload(server)).service).toBe('IMGBB');
    const image = await upload(server);
    expect(image).toMatchObject({ service: 'LOCAL', replicationStatus: 'RETRYING' });
    expect(postimages.requests + imgbb.requests).toBe(2);
    const db = new Database(server.sqlitePath, { readonly: true });
    const row = db
      .prepare('SELECT repl_attempts, repl_next_attempt_at, repl_last_error FROM images WHERE id = ?')
      .get(image.id) as { repl_attempts: number; repl_next_attempt_at: number; repl_last_error: string };
    db.close();
    expect(row.repl_attempts).toBe(0);
    expect(row.repl_next_attempt_at - nextMonth().getTime()).toBeGreaterThanOrEqual(0);
    expect(row.repl_next_attempt_at - nextMonth().getTime()).toBeLessThan(30_000);
    expect(row.repl_last_error).toMatch(
      /POSTIMAGES: budget spent: 1 uploads per month used; resets at .*; IMGBB: budget spent/,
    );
  });
});

describe('a budget and an open circuit', () => {
  let postimages: Emulator;
  let stop: () => Promise<void>;
  let server: TestServer;
  let counted: ReturnType<typeof countingStore>;

  beforeAll(async () => {
    ({ postimages, server, stop } = await startChainServer(
      {
        POSTIMAGES_BUDGET: '10/month',
        CLOUD_ATTEMPTS: '1',
        CIRCUIT_BREAK_AFTER: '1',
        CIRCUIT_HALF_OPEN_SECONDS: '3600',
      },
      {
        wrapStore: (store) => (counted = countingStore(store)).store,
      },
    ));
  });
  afterAll(() => stop());

  it('takes nothing from the budget while the circuit is open, since nothing is sent', async () => {
    postimages.setMode('error500');
    expect((await upload(server)).service).toBe('IMGBB');
    expect(postimages.requests).toBe(1);
    for (let i = 0; i < 3; i++) expect((await upload(server)).service).toBe('IMGBB');
    expect(postimages.requests).toBe(1);
    const providers = (await server.gql(ProvidersDocument, {}, as('alice'))).data!.providers;
    expect(providers.find((p) => p.name === 'POSTIMAGES')).toMatchObject({
      circuit: 'OPEN',
      budget: { used: 1, limit: 10 },
    });
  });

  it('a /metrics scrape reads each budget count once, and the next scrape reads it afresh', async () => {
    // Two budgeted providers here: POSTIMAGES_BUDGET and the default IMGBB_BUDGET.
    counted.reset();
    const first = await (await fetch(`${server.url}/metrics`)).text();
    expect(first).toMatch(/his_provider_budget_used\{provider="postimages",per="month"\} 1/);
    expect(counted.counts.get('budgetUsed')).toBe(2);
    await (await fetch(`${server.url}/metrics`)).text();
    expect(counted.counts.get('budgetUsed')).toBe(4);
  });
});
