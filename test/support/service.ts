/**
 * The fast service tier (test/service): a service built directly over a real SQLite store in a
 * temp file, with everything from outside the process faked (clock, random, uploader, cloud
 * deleter, local files, logger), in the style of Immich's `newTestService`. Call
 * `cleanupTestServices` in an afterEach: it closes the stores and removes their folders.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { pino, type Logger } from 'pino';
import { afterEach, vi } from 'vitest';
import type { ChainFailure, ChainSuccess } from '../../src/cloud/chain.js';
import type { CloudCopy, CloudProvider, ProviderName, UploadFile } from '../../src/cloud/provider.js';
import { sha256File } from '../../src/cloud/download.js';
import type { DeletionJob, ImageRecord, StorageService } from '../../src/domain/types.js';
import { LocalFileStore } from '../../src/files/local-file-store.js';
import { CleanupService } from '../../src/maintenance/cleanup.js';
import { RestoreService } from '../../src/maintenance/restore.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-store.js';
import { toDeletion, type DeletionRow } from '../../src/metadata/sqlite/deletions.js';
import {
  DeletionService,
  type CloudDeleter,
  type DeletionFiles,
  type DeletionOptions,
} from '../../src/services/deletion.js';
import {
  ReplicationService,
  type ReplicationEvents,
  type ReplicationOptions,
  type Uploader,
} from '../../src/workers/replication.js';
import { at, makeConversation, makeImage, makeMessage, type ImageOverrides, sha256Hex } from './factories.js';

/** A logger that writes nothing. */
export const silentLogger: Logger = pino({ level: 'silent' });

/** One line a recordingLogger() wrote, as pino writes it (level as a name; `err` serialized). */
export interface LogRecord {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  msg: string;
  [field: string]: unknown;
}

/** A logger that keeps every line it writes, parsed, in `records`: for tests of what an operator is told. */
export function recordingLogger(): { log: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const log = pino(
    { level: 'trace', formatters: { level: (label) => ({ level: label }) }, base: null, timestamp: false },
    { write: (line: string) => void records.push(JSON.parse(line) as LogRecord) },
  );
  return { log, records };
}

// ---------------------------------------------------------------------------------------------
// The store: a real SQLite file in a temp folder, removed by cleanupTestServices.

export interface TestStore {
  store: SqliteMetadataStore;
  path: string;
}

const teardowns: (() => Promise<void>)[] = [];

/** A fresh, initialised SQLite store in its own temp folder. */
export async function newTestStore(): Promise<TestStore> {
  const dir = await mkdtemp(join(tmpdir(), 'his-service-'));
  const path = join(dir, 'metadata.sqlite');
  const store = new SqliteMetadataStore({ path });
  teardowns.push(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  await store.init();
  return { store, path };
}

/** Closes every store made since the last call and removes its folder. For afterEach. */
export async function cleanupTestServices(): Promise<void> {
  for (const teardown of teardowns.splice(0).reverse()) await teardown();
}

/** For a test file of this tier: after each test, real timers again and every store closed and removed. */
export function useTestServices(): void {
  afterEach(async () => {
    vi.useRealTimers();
    await cleanupTestServices();
  });
}

/** The deletion jobs in the file, read through a second, read-only connection (the port has no such read). */
export function peekDeletions(path: string): DeletionJob[] {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare('SELECT * FROM image_deletions ORDER BY image_id').all() as DeletionRow[];
    return rows.map(toDeletion);
  } finally {
    db.close();
  }
}

/**
 * Stores one conversation and message of `userId` holding one image per override, and returns
 * the images as stored. With `files`, each image's local original and thumbnail get bytes.
 */
export async function seedImages(
  store: SqliteMetadataStore,
  overrides: ImageOverrides[],
  o: { userId?: string; files?: FakeFiles } = {},
): Promise<ImageRecord[]> {
  const conversation = makeConversation({ userId: o.userId ?? 'alice' });
  await store.createConversation(conversation);
  const message = makeMessage(conversation);
  const images = overrides.map((override, i) => makeImage(message, { uploadedAt: at(i), ...override }));
  await store.addMessage({ ...message, images });
  for (const image of images) {
    if (image.localKey) o.files?.put(image.localKey, Buffer.from(`original of ${image.id}`));
    if (image.thumbnailKey) o.files?.put(image.thumbnailKey, Buffer.from(`thumbnail of ${image.id}`));
  }
  return images;
}

/** One image as it is stored now (throws if it is gone). */
export async function storedImage(store: SqliteMetadataStore, id: string): Promise<ImageRecord> {
  const [image] = await store.getImagesByIds([id]);
  if (!image) throw new Error(`image ${id} is not in the store`);
  return image;
}

// ---------------------------------------------------------------------------------------------
// Time and chance.

/** A clock that stands still until told to move. */
export interface FakeClock {
  (): Date;
  /** The current time in milliseconds. */
  ms(): number;
  advance(ms: number): void;
  set(date: Date): void;
}

/** Moves the fake clock and vitest's fake timers on together, as time passing does. */
export async function elapse(clock: FakeClock, ms: number): Promise<void> {
  clock.advance(ms);
  await vi.advanceTimersByTimeAsync(ms);
}

export function fakeClock(start: Date = at(0)): FakeClock {
  let now = start.getTime();
  const clock = (() => new Date(now)) as FakeClock;
  clock.ms = () => now;
  clock.advance = (ms) => {
    now += ms;
  };
  clock.set = (date) => {
    now = date.getTime();
  };
  return clock;
}

/** A `random` that answers `values` in turn, then `fallback` forever; `calls` counts the draws. */
export function scriptedRandom(values: number[] = [], fallback = 0.5): (() => number) & { calls: number } {
  const queue = [...values];
  const random = (() => {
    random.calls++;
    return queue.length > 0 ? (queue.shift() as number) : fallback;
  }) as (() => number) & { calls: number };
  random.calls = 0;
  return random;
}

// ---------------------------------------------------------------------------------------------
// Local files.

/** In-memory local files: what the services read (`read`) and delete (the DeletionFiles slice). */
export class FakeFiles implements DeletionFiles {
  readonly bytes = new Map<string, Buffer>();
  /** Every key delete() was called with, in order. */
  readonly deleted: string[] = [];
  /** Keys whose deletion throws this error (until removed from the map). */
  readonly failing = new Map<string, Error>();

  put(key: string, data: Buffer): void {
    this.bytes.set(key, data);
  }

  has(key: string): boolean {
    return this.bytes.has(key);
  }

  async read(key: string): Promise<Buffer> {
    const data = this.bytes.get(key);
    if (!data) throw Object.assign(new Error(`ENOENT: no such file, open '/srv/storage/${key}'`), { code: 'ENOENT' });
    return data;
  }

  async delete(key: string): Promise<boolean> {
    this.deleted.push(key);
    const failure = this.failing.get(key);
    if (failure) throw failure;
    return this.bytes.delete(key);
  }
}

// ---------------------------------------------------------------------------------------------
// The cloud, as the services see it.

export function chainSuccess(
  url: string,
  o: { provider?: ProviderName; deleteUrl?: string | null; thumbnail?: CloudCopy | null } = {},
): ChainSuccess {
  return {
    ok: true,
    provider: o.provider ?? 'POSTIMAGES',
    copy: { url, deleteUrl: o.deleteUrl === undefined ? `${url}/delete-secret` : o.deleteUrl, providerId: null },
    thumbnail: o.thumbnail ?? null,
    failures: [],
  };
}

export function chainFailure(...failures: { provider: ProviderName; reason: string }[]): ChainFailure {
  return { ok: false, failures };
}

export type UploadAnswer = ChainSuccess | ChainFailure;

export interface UploadCall {
  file: UploadFile;
  thumbnail?: () => Promise<UploadFile | null>;
  avoid?: ProviderName;
}

/**
 * The replication worker's `chain`: records each call and answers from a script (a result, or
 * a function of the file, which may also act on the world mid-upload), then with `fallback`.
 */
export class FakeUploader implements Uploader {
  readonly calls: UploadCall[] = [];
  private readonly script: (UploadAnswer | ((file: UploadFile) => Promise<UploadAnswer>))[] = [];
  fallback: (file: UploadFile) => UploadAnswer = (file) => chainSuccess(`https://i.postimg.cc/x/${file.fileName}`);

  willAnswer(...answers: (UploadAnswer | ((file: UploadFile) => Promise<UploadAnswer>))[]): this {
    this.script.push(...answers);
    return this;
  }

  async upload(
    file: UploadFile,
    o: { thumbnail?: () => Promise<UploadFile | null>; avoid?: ProviderName } = {},
  ): Promise<UploadAnswer> {
    this.calls.push({ file, ...o });
    const next = this.script.shift();
    if (next === undefined) return this.fallback(file);
    return typeof next === 'function' ? next(file) : next;
  }
}

/** The deletion worker's cloud: records each deletion; throws the scripted errors in turn. */
export class FakeCloudDeleter implements CloudDeleter {
  readonly calls: { service: StorageService; copy: { url: string; deleteUrl: string } }[] = [];
  /** Services whose provider offers deletion here (ImgBB's does not). */
  readonly deletable = new Set<StorageService>(['POSTIMAGES', 'S3']);
  private readonly errors: (Error | null)[] = [];
  private hold: { gate: Promise<void>; started: () => void } | null = null;

  /**
   * The next deletion waits until `release()`: `started` resolves once it is called, so a test can
   * act while the deletion is in flight.
   */
  holdNext(): { started: Promise<void>; release(): void } {
    let release!: () => void;
    let started!: () => void;
    const startedPromise = new Promise<void>((resolve) => (started = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    this.hold = { gate, started };
    return { started: startedPromise, release };
  }

  /** The next deletions throw these errors in turn (null: that one succeeds). */
  failNext(...errors: (Error | null)[]): this {
    this.errors.push(...errors);
    return this;
  }

  canDelete(service: StorageService): boolean {
    return this.deletable.has(service);
  }

  async delete(service: StorageService, copy: { url: string; deleteUrl: string }): Promise<void> {
    this.calls.push({ service, copy: { url: copy.url, deleteUrl: copy.deleteUrl } });
    const hold = this.hold;
    if (hold) {
      this.hold = null;
      hold.started();
      await hold.gate;
    }
    const error = this.errors.shift();
    if (error) throw error;
  }
}

/** What a fake provider does on one upload: answer a copy, throw, or run a function. */
export type ProviderAnswer = CloudCopy | Error | ((file: UploadFile, signal: AbortSignal) => Promise<CloudCopy>);

/** A CloudProvider for ProviderChain: records each call and answers from a script, then with copies. */
export class FakeProvider implements CloudProvider {
  readonly allowedHosts: readonly string[];
  readonly calls: UploadFile[] = [];
  private readonly script: ProviderAnswer[] = [];

  constructor(
    readonly name: ProviderName,
    readonly keepsThumbnails = false,
  ) {
    this.allowedHosts = [`${name.toLowerCase()}.test`];
  }

  willAnswer(...answers: ProviderAnswer[]): this {
    this.script.push(...answers);
    return this;
  }

  /** The next `n` uploads throw errors made by `make`. */
  willFail(n: number, make: () => Error): this {
    for (let i = 0; i < n; i++) this.script.push(make());
    return this;
  }

  async upload(file: UploadFile, signal: AbortSignal): Promise<CloudCopy> {
    this.calls.push(file);
    const next = this.script.shift();
    if (next === undefined)
      return {
        url: `https://${this.allowedHosts[0]}/${this.calls.length}/${file.fileName}`,
        deleteUrl: null,
        providerId: null,
      };
    if (next instanceof Error) throw next;
    if (typeof next === 'function') return next(file, signal);
    return next;
  }
}

/** An upload as the chain receives it. */
export function uploadFile(o: Partial<UploadFile> = {}): UploadFile {
  return {
    data: Buffer.from('image bytes'),
    fileName: 'img_20260101_000000_ab12cd34.png',
    mimeType: 'image/png',
    sha256: 'a'.repeat(64),
    ownerId: 'alice',
    ...o,
  };
}

// ---------------------------------------------------------------------------------------------
// The services.

export const REPLICATION_OPTIONS: ReplicationOptions = {
  leaseMs: 60_000,
  maxAttempts: 3,
  backoffBaseMs: 1_000,
  backoffCapMs: 8_000,
  pollMs: 5_000,
  batchSize: 8,
};

export const DELETION_OPTIONS: DeletionOptions = {
  leaseMs: 60_000,
  backoffBaseMs: 1_000,
  backoffCapMs: 8_000,
  pollMs: 5_000,
  batchSize: 8,
};

export const INSTANCE_ID = 'instance-a';

/** A ReplicationService over a real store, with a fake clock, random, uploader and local files. */
export async function newReplicationTestService(
  o: { options?: Partial<ReplicationOptions>; random?: () => number; clock?: FakeClock } = {},
) {
  const { store, path } = await newTestStore();
  const clock = o.clock ?? fakeClock();
  const random = o.random ?? scriptedRandom();
  const uploader = new FakeUploader();
  const files = new FakeFiles();
  const options = { ...REPLICATION_OPTIONS, ...o.options };
  const outcomes: { outcome: string; provider: ProviderName | null }[] = [];
  const events: ReplicationEvents = { onOutcome: (outcome, provider) => outcomes.push({ outcome, provider }) };
  const orphaned: { image: ImageRecord; provider: ProviderName; copy: CloudCopy }[] = [];
  const sut = new ReplicationService({
    store,
    readLocal: (key) => files.read(key),
    chain: uploader,
    clock,
    random,
    log: silentLogger,
    instanceId: INSTANCE_ID,
    options,
    events,
    onOrphanedCopy: async (image, provider, copy) => {
      orphaned.push({ image, provider, copy });
    },
  });
  return { sut, store, path, clock, random, uploader, files, options, outcomes, orphaned };
}

/** A DeletionService over a real store, with a fake clock, random, cloud deleter and local files. */
export async function newDeletionTestService(
  o: { options?: Partial<DeletionOptions>; random?: () => number; clock?: FakeClock; log?: Logger } = {},
) {
  const { store, path } = await newTestStore();
  const clock = o.clock ?? fakeClock();
  const random = o.random ?? scriptedRandom();
  const cloud = new FakeCloudDeleter();
  const files = new FakeFiles();
  const options = { ...DELETION_OPTIONS, ...o.options };
  const sut = new DeletionService({
    store,
    files,
    cloud,
    clock,
    random,
    log: o.log ?? silentLogger,
    instanceId: INSTANCE_ID,
    options,
  });
  return { sut, store, path, clock, random, cloud, files, options };
}

// ---------------------------------------------------------------------------------------------
// Maintenance: cleanup and restore, over real local files in a temp folder.

/** The cloud as the maintenance services download it: copies by URL, written to the path given. */
export class FakeDownloads {
  readonly copies = new Map<string, Buffer>();
  /** Every URL downloaded, in order. */
  readonly calls: string[] = [];
  /** URLs whose download throws this error. */
  readonly failing = new Map<string, Error>();

  readonly download = async (url: string, path: string): Promise<{ bytes: number; sha256: string }> => {
    this.calls.push(url);
    const failure = this.failing.get(url);
    if (failure) throw failure;
    const data = this.copies.get(url);
    if (!data) throw new Error(`HTTP 404 from ${new URL(url).host}`);
    await writeFile(path, data, { flag: 'wx' });
    return { bytes: data.length, sha256: sha256Hex(data) };
  };
}

/** A LocalFileStore in a fresh temp folder (removed by cleanupTestServices). */
export async function newTestFiles(clock?: () => Date): Promise<LocalFileStore> {
  const root = await mkdtemp(join(tmpdir(), 'his-service-files-'));
  teardowns.push(() => rm(root, { recursive: true, force: true }));
  const files = new LocalFileStore({ root, clock });
  await files.init();
  return files;
}

/** The files left in the store's temp folder (a download's temp file must never stay). */
export async function tempLeftovers(files: LocalFileStore): Promise<string[]> {
  return (await readdir(dirname(files.tempPath()))).filter((name) => name.endsWith('.part'));
}

/**
 * Stores images as seedImages does, with local files of real bytes (distinct per image) and the
 * matching sha256, and a cloud copy holding the same bytes for each image with a cloudUrl.
 */
export async function seedWithFiles(
  store: SqliteMetadataStore,
  files: LocalFileStore,
  downloads: FakeDownloads,
  overrides: ImageOverrides[],
): Promise<{ images: ImageRecord[]; bytes: Map<string, Buffer> }> {
  const bytes = new Map<string, Buffer>();
  const withDigests = overrides.map((o, i) => {
    const data = Buffer.from(`original ${i} `.repeat(10 + i));
    return { data, o: { sha256: sha256Hex(data), size: data.length, ...o } };
  });
  const images = await seedImages(
    store,
    withDigests.map((w) => w.o),
  );
  for (const [i, image] of images.entries()) {
    const data = withDigests[i]!.data;
    bytes.set(image.id, data);
    if (image.localKey) await files.put(image.localKey, data);
    if (image.thumbnailKey) await files.put(image.thumbnailKey, Buffer.from(`thumbnail of ${image.id}`));
    if (image.cloudUrl) downloads.copies.set(image.cloudUrl, data);
  }
  return { images, bytes };
}

export const admin = { userId: 'root', isAdmin: true } as const;

/** A CleanupService over a real store and real local files, with a fake clock, cloud and onAltered. */
export async function newCleanupTestService(
  o: { clock?: FakeClock; log?: Logger; expiringServices?: StorageService[]; alteringServices?: StorageService[] } = {},
) {
  const { store, path } = await newTestStore();
  const clock = o.clock ?? fakeClock(at(0));
  const files = await newTestFiles(clock);
  const downloads = new FakeDownloads();
  const altered: ImageRecord[] = [];
  const sut = new CleanupService({
    store,
    files,
    download: downloads.download,
    sha256File,
    clock,
    log: o.log ?? silentLogger,
    expiringServices: o.expiringServices ?? ['IMGBB'],
    alteringServices: o.alteringServices ?? ['POSTIMAGES'],
    onAltered: async (image) => void altered.push(image),
  });
  return { sut, store, path, clock, files, downloads, altered };
}

/** A RestoreService over a real store and real local files, with a fake cloud, thumbnailer and onAltered. */
export async function newRestoreTestService(o: { log?: Logger; concurrency?: number } = {}) {
  const { store, path } = await newTestStore();
  const files = await newTestFiles();
  const downloads = new FakeDownloads();
  const altered: ImageRecord[] = [];
  /** Every thumbnail made: from a path (a file) or bytes, for the key. */
  const thumbnails: { input: string | Buffer; key: string }[] = [];
  const sut = new RestoreService({
    store,
    files,
    download: downloads.download,
    sha256File,
    thumbnail: async (input, key) => {
      thumbnails.push({ input, key });
      const data = typeof input === 'string' ? await readFile(input) : input;
      return Buffer.from(`thumbnail (${key}) of ${sha256Hex(data)}`);
    },
    concurrency: o.concurrency ?? 2,
    log: o.log ?? silentLogger,
    onAltered: async (image) => void altered.push(image),
  });
  return { sut, store, path, files, downloads, altered, thumbnails };
}
