import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type DocumentNode } from 'graphql';
import { pino } from 'pino';
import { createApp, type App } from '../../src/server.js';
import { loadConfig } from '../../src/config.js';
import type { MetadataStore } from '../../src/metadata/metadata-store.js';
import { LocalFileStore, type FsOps } from '../../src/files/local-file-store.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-store.js';
import { TEST_FILE_URL_SECRET } from './factories.js';

export interface GraphQLResponse<T> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } & Record<string, unknown> }[];
}

export interface TestServer {
  url: string;
  app: App;
  dir: string;
  sqlitePath: string;
  storageDir: string;
  /** Log lines the server wrote, parsed. */
  logs: Record<string, unknown>[];
  gql<T, V>(
    doc: TypedDocumentNode<T, V> | DocumentNode | string,
    variables?: V,
    headers?: Record<string, string>,
  ): Promise<GraphQLResponse<T>>;
  /** A store on the same SQLite file, for seeding and for checking what was stored. */
  stop(): Promise<void>;
}

/**
 * Starts the real app on a loopback port over a fresh SQLite file in a temp directory.
 * `wrapStore` lets a test put a counting or failing wrapper around the real store.
 */
export async function startTestServer(
  options: {
    env?: Record<string, string>;
    wrapStore?: (s: MetadataStore) => MetadataStore;
    fileFs?: Partial<FsOps>;
    dir?: string;
    keepDir?: boolean;
    timersFirstDelayMs?: number;
    /** Image queue slots, whatever the machine's cores (CoreDeps.imageConcurrency). */
    imageConcurrency?: number;
  } = {},
): Promise<TestServer> {
  // `dir` lets a second server start on the same SQLite file and STORAGE_DIR (restarts, two instances).
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'his-test-')));
  const sqlitePath = join(dir, 'metadata.sqlite');
  // A free port chosen up front, so signed URLs (PUBLIC_BASE_URL) point at this server.
  const port = await freePort();
  const config = loadConfig({
    PORT: String(port),
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    HOST: '127.0.0.1',
    SQLITE_PATH: sqlitePath,
    STORAGE_DIR: join(dir, 'storage'),
    FILE_URL_SECRET: TEST_FILE_URL_SECRET,
    LOG_LEVEL: 'info',
    // Test files run in parallel on few cores: a photo's processing can take several times its
    // usual time, which must not trip the per-image budget. Tests of the budget set their own.
    IMAGE_PROCESS_TIMEOUT_SECONDS: '120',
    ...options.env,
  });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const log = pino({ level: 'info' }, sink);
  // As createStore builds it for the server: WAL checkpoints on a worker thread.
  const inner = new SqliteMetadataStore({
    path: sqlitePath,
    busyTimeoutMs: config.sqliteBusyTimeoutMs,
    checkpoints: { onError: (error) => log.warn({ error }, 'a SQLite WAL checkpoint failed') },
  });
  const store = options.wrapStore ? options.wrapStore(inner) : inner;
  const files = options.fileFs ? new LocalFileStore({ root: config.storageDir, fs: options.fileFs }) : undefined;
  const app = await createApp(config, {
    log,
    store,
    ...(files ? { files } : {}),
    ...(options.timersFirstDelayMs === undefined ? {} : { timersFirstDelayMs: options.timersFirstDelayMs }),
    ...(options.imageConcurrency === undefined ? {} : { imageConcurrency: options.imageConcurrency }),
  });
  const url = await app.listen();
  return {
    url,
    app,
    dir,
    sqlitePath,
    storageDir: config.storageDir,
    logs,
    async gql(doc, variables, headers = {}) {
      const query = typeof doc === 'string' ? doc : print(doc);
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as Omit<GraphQLResponse<never>, 'status' | 'headers'>;
      return { status: res.status, headers: res.headers, ...body } as GraphQLResponse<never>;
    },
    async stop() {
      await app.stop();
      if (!options.keepDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Headers of the dev identity mode. */
export function as(userId: string, roles: string[] = []): Record<string, string> {
  return { 'x-user-id': userId, ...(roles.length ? { 'x-user-roles': roles.join(',') } : {}) };
}
