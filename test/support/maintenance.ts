/**
 * What the delete, restore, cleanup and reconcile tests over HTTP share: real-photo crops, a
 * PostImages emulator as the cloud, the server settings that point at it, and uploads whose
 * stored keys are read back from the SQLite file (the API only shows signed URLs).
 */
import { readFile } from 'node:fs/promises';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { CreateConversationDocument, UploadImageDocument } from '../generated/graphql.js';
import { startPostImagesEmulator, type Emulator } from './emulators.js';
import { as, type TestServer } from './server.js';

export const coffee = await readFile('test/fixtures/coffee.png');
/** Distinct real-photo crops: equal bytes would share one cloud copy (see ReplicationService). */
export const photos = await Promise.all(
  Array.from({ length: 24 }, (_, i) =>
    sharp(coffee)
      .extract({ left: i * 8, top: i * 4, width: 160, height: 120 })
      .jpeg({ quality: 80 })
      .toBuffer(),
  ),
);

/**
 * A PostImages emulator for the file's tests (started before them, stopped after, put back to
 * `ok` after each), and `env()`: server settings that replicate to it quickly.
 */
export function usePostImagesCloud(): {
  readonly emulator: Emulator;
  env(extra?: Record<string, string>): Record<string, string>;
} {
  let cloud: Emulator | undefined;
  beforeAll(async () => {
    cloud = await startPostImagesEmulator();
  });
  afterAll(async () => {
    await cloud?.stop();
  });
  afterEach(() => {
    cloud?.setMode('ok');
  });
  const emulator = (): Emulator => {
    if (!cloud) throw new Error('the PostImages emulator starts in beforeAll');
    return cloud;
  };
  return {
    get emulator() {
      return emulator();
    },
    env: (extra = {}) => ({
      CLOUD_PROVIDERS: 'postimages',
      POSTIMAGES_API_KEY: emulator().apiKey,
      POSTIMAGES_API_URL: emulator().apiUrl,
      CLOUD_TIMEOUT_MS: '1000',
      CLOUD_ATTEMPTS: '1',
      REPLICATION_BACKOFF_BASE_MS: '100',
      REPLICATION_BACKOFF_CAP_SECONDS: '1',
      REPLICATION_POLL_MS: '100',
      ...extra,
    }),
  };
}

export interface Uploaded {
  id: string;
  conversationId: string;
  localUrl: string;
  cloudUrl: string | null;
  localKey: string;
  thumbnailKey: string;
}

/** Keys as the store holds them (the API only shows signed URLs). */
export function keysOf(
  server: TestServer,
  id: string,
): { local_key: string | null; thumbnail_key: string | null; evicted_key: string | null } {
  const db = new Database(server.sqlitePath, { readonly: true });
  try {
    return db.prepare('SELECT local_key, thumbnail_key, evicted_key FROM images WHERE id = ?').get(id) as never;
  } finally {
    db.close();
  }
}

export async function newConversation(server: TestServer, user: string): Promise<string> {
  const c = await server.gql(CreateConversationDocument, { input: {} }, as(user));
  return c.data!.createConversation.id;
}

export async function upload(
  server: TestServer,
  user: string,
  conversationId: string,
  data: Buffer,
  waitForCloud = true,
): Promise<Uploaded> {
  const res = await server.gql(
    UploadImageDocument,
    { input: { conversationId, base64: data.toString('base64'), waitForCloud } },
    as(user),
  );
  expect(res.errors).toBeUndefined();
  const image = res.data!.uploadImage.image;
  const keys = keysOf(server, image.id);
  return {
    id: image.id,
    conversationId,
    localUrl: image.localUrl!,
    cloudUrl: image.cloudUrl ?? null,
    localKey: keys.local_key!,
    thumbnailKey: keys.thumbnail_key!,
  };
}

export const codeOf = (res: { errors?: { extensions?: { code?: string } }[] }) => res.errors?.[0]?.extensions?.code;
