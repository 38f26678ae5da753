import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createCore, type Core } from '../../src/core.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-store.js';
import { startPostImagesEmulator, type Emulator } from '../support/emulators.js';
import { overrideStore } from '../support/override-store.js';
import { emulatedEnv, seedReplicatedImages } from '../support/seed-replicated.js';

/**
 * A deletion job that a crashed begin left behind (on MongoDB the job is written before the
 * record is removed) is claimed by the worker; right then, the owner deletes the image again and
 * wins the record, taking the job over with its own lease. The worker must leave the job to
 * that delete: both working it would send the provider's deletion twice.
 */
describe('a delete that takes over a job the worker has just claimed', () => {
  let cloud: Emulator;
  let dir: string;

  beforeAll(async () => {
    cloud = await startPostImagesEmulator();
    dir = await mkdtemp(join(tmpdir(), 'his-takeover-'));
  });
  afterAll(async () => {
    await cloud.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('leaves the job to that delete: the cloud copy is deleted once', async () => {
    const env = emulatedEnv(dir, cloud);
    const real = new SqliteMetadataStore({ path: env.SQLITE_PATH });
    await real.init();
    const { images } = await seedReplicatedImages(real, cloud, {
      photo: await readFile('test/fixtures/coffee.png'),
      count: 1,
      width: 64,
      height: 48,
    });
    const image = images[0]!;
    // What a begin that crashed between writing the job and removing the record leaves.
    await real.enqueueDeletion({
      imageId: image.id,
      userId: image.userId,
      localKeys: [image.localKey!, image.thumbnailKey!],
      cloud: { service: 'POSTIMAGES', url: image.cloudUrl!, deleteUrl: image.deleteUrl! },
      cloudDeleted: false,
      requestedAt: new Date(Date.now() - 600_000),
      attempts: 0,
      nextAttemptAt: null,
      lastError: null,
      leaseOwner: 'crashed-instance',
      leaseUntil: new Date(Date.now() - 1000),
    });

    const late: { core?: Core } = {}; // the core is built on this store, below
    // The owner's delete, made while the worker removes the record; checked after the pass,
    // because the worker logs and swallows whatever its store call throws.
    let ownerDelete: Promise<unknown> | undefined;
    // The real store; the first time the worker removes the record, the owner's delete runs first.
    const store = overrideStore(real, {
      removeImage: (original) => async (id) => {
        if (!ownerDelete) {
          ownerDelete = late.core!.deletion.deleteImage({ userId: image.userId, isAdmin: false }, id);
          await ownerDelete;
        }
        return original(id);
      },
    });
    const core = (late.core = await createCore(loadConfig(env), { log: pino({ level: 'silent' }), store }));
    try {
      expect(await core.deletion.runOnce()).toBe(1);
      expect(ownerDelete).toBeDefined();
      await expect(ownerDelete).resolves.toMatchObject({ cloudDeleted: true, localDeleted: true });
      expect(cloud.deletions).toHaveLength(1);
      expect(await real.countPendingDeletions()).toBe(0);
      expect(await real.getImagesByIds([image.id])).toEqual([]);
    } finally {
      await real.close();
    }
  });
});
