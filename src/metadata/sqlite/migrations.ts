import type { Database } from 'better-sqlite3';

/**
 * Schema versions, applied in order. Entry i brings the database from `user_version` i to
 * i + 1. Never edit an entry that has shipped: append a new one, because files in the field
 * already carry the earlier versions.
 *
 * Timestamps are INTEGER milliseconds since the epoch, booleans INTEGER 0/1. STRICT tables make
 * SQLite refuse a value of the wrong type instead of storing it silently.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    title TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX conversations_user_updated ON conversations (user_id, updated_at, id);
  -- Admin listings have no user_id to lead with.
  CREATE INDEX conversations_updated ON conversations (updated_at, id);

  CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('USER', 'ASSISTANT', 'SYSTEM')),
    content TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX messages_conversation_created ON messages (conversation_id, created_at, id);

  CREATE TABLE images (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    local_key TEXT,
    thumbnail_key TEXT,
    cloud_url TEXT,
    delete_url TEXT,
    caption TEXT,
    size INTEGER NOT NULL,
    mime_type TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    generated INTEGER NOT NULL CHECK (generated IN (0, 1)),
    service TEXT NOT NULL CHECK (service IN ('POSTIMAGES', 'IMGBB', 'LOCAL')),
    sha256 TEXT NOT NULL,
    placeholder TEXT,
    uploaded_at INTEGER NOT NULL,
    repl_status TEXT NOT NULL CHECK (repl_status IN ('PENDING', 'REPLICATED', 'RETRYING', 'LOCAL_ONLY')),
    repl_attempts INTEGER NOT NULL DEFAULT 0,
    repl_next_attempt_at INTEGER,
    repl_last_error TEXT,
    lease_owner TEXT,
    lease_until INTEGER
  ) STRICT;
  CREATE INDEX images_message_position ON images (message_id, position);
  CREATE INDEX images_uploaded ON images (uploaded_at, id);
  CREATE INDEX images_user_uploaded ON images (user_id, uploaded_at, id);
  CREATE INDEX images_replication_due ON images (repl_status, repl_next_attempt_at);
  CREATE INDEX images_user_sha256 ON images (user_id, sha256);
  CREATE INDEX images_conversation ON images (conversation_id);
  `,
  // 2: /files looks an image up by the key of its original or of its thumbnail.
  `
  CREATE INDEX images_local_key ON images (local_key);
  CREATE INDEX images_thumbnail_key ON images (thumbnail_key);
  `,
  // 3: cleanup keeps the key of a removed original (for the /files redirect); deletions in progress.
  `
  ALTER TABLE images ADD COLUMN evicted_key TEXT;
  CREATE INDEX images_evicted_key ON images (evicted_key);
  CREATE INDEX images_cloud_url ON images (cloud_url);

  CREATE TABLE image_deletions (
    image_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    local_keys TEXT NOT NULL,          -- JSON array of keys still to remove
    cloud_service TEXT,
    cloud_url TEXT,
    cloud_delete_url TEXT,             -- server side only
    cloud_deleted INTEGER NOT NULL CHECK (cloud_deleted IN (0, 1)),
    requested_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error TEXT,
    lease_owner TEXT,
    lease_until INTEGER
  ) STRICT;
  CREATE INDEX image_deletions_due ON image_deletions (next_attempt_at);
  `,
  // 4: when a cloud copy was last known to hold the bytes. Every REPLICATED row so far was
  // uploaded by this server (nothing imported rows before import-seed), so those count as known.
  `
  ALTER TABLE images ADD COLUMN cloud_verified_at INTEGER;
  UPDATE images SET cloud_verified_at = uploaded_at WHERE repl_status = 'REPLICATED' AND cloud_url IS NOT NULL;
  `,
  // 5: maintenance walks of one owner's images scan by id (scanImages).
  `
  CREATE INDEX images_user_id ON images (user_id, id);
  `,
  // 6: the s3 provider. A CHECK constraint cannot be altered: the table is rebuilt with the same
  // rows (the migration runs in one IMMEDIATE transaction, see migrate()).
  `
  CREATE TABLE images_v6 (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    local_key TEXT,
    thumbnail_key TEXT,
    cloud_url TEXT,
    delete_url TEXT,
    caption TEXT,
    size INTEGER NOT NULL,
    mime_type TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    generated INTEGER NOT NULL CHECK (generated IN (0, 1)),
    service TEXT NOT NULL CHECK (service IN ('POSTIMAGES', 'IMGBB', 'S3', 'LOCAL')),
    sha256 TEXT NOT NULL,
    placeholder TEXT,
    uploaded_at INTEGER NOT NULL,
    repl_status TEXT NOT NULL CHECK (repl_status IN ('PENDING', 'REPLICATED', 'RETRYING', 'LOCAL_ONLY')),
    repl_attempts INTEGER NOT NULL DEFAULT 0,
    repl_next_attempt_at INTEGER,
    repl_last_error TEXT,
    lease_owner TEXT,
    lease_until INTEGER,
    evicted_key TEXT,
    cloud_verified_at INTEGER
  ) STRICT;
  INSERT INTO images_v6 (id, message_id, conversation_id, user_id, position, local_key, thumbnail_key, cloud_url, delete_url, caption,
    size, mime_type, width, height, generated, service, sha256, placeholder, uploaded_at, repl_status, repl_attempts,
    repl_next_attempt_at, repl_last_error, lease_owner, lease_until, evicted_key, cloud_verified_at)
  SELECT id, message_id, conversation_id, user_id, position, local_key, thumbnail_key, cloud_url, delete_url, caption,
    size, mime_type, width, height, generated, service, sha256, placeholder, uploaded_at, repl_status, repl_attempts,
    repl_next_attempt_at, repl_last_error, lease_owner, lease_until, evicted_key, cloud_verified_at FROM images;
  DROP TABLE images;
  ALTER TABLE images_v6 RENAME TO images;
  CREATE INDEX images_message_position ON images (message_id, position);
  CREATE INDEX images_uploaded ON images (uploaded_at, id);
  CREATE INDEX images_user_uploaded ON images (user_id, uploaded_at, id);
  CREATE INDEX images_replication_due ON images (repl_status, repl_next_attempt_at);
  CREATE INDEX images_user_sha256 ON images (user_id, sha256);
  CREATE INDEX images_conversation ON images (conversation_id);
  CREATE INDEX images_local_key ON images (local_key);
  CREATE INDEX images_thumbnail_key ON images (thumbnail_key);
  CREATE INDEX images_evicted_key ON images (evicted_key);
  CREATE INDEX images_cloud_url ON images (cloud_url);
  CREATE INDEX images_user_id ON images (user_id, id);
  `,
  // 7: providers that keep thumbnails (s3) record the thumbnail's cloud copy; deletions look it up.
  `
  ALTER TABLE images ADD COLUMN thumbnail_cloud_url TEXT;
  CREATE INDEX images_thumbnail_cloud_url ON images (thumbnail_cloud_url);
  `,
  // 8: provider upload budgets, one count per provider and window (budget.ts).
  `
  CREATE TABLE provider_budgets (
    provider TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    used INTEGER NOT NULL,
    PRIMARY KEY (provider, window_start)
  ) STRICT;
  `,
  // 9: when a check found the cloud copy changed at its host (it is then replicated again).
  `
  ALTER TABLE images ADD COLUMN cloud_altered_at INTEGER;
  `,
  // 10: the change log for live updates (src/metadata/change-log.ts); pruned by age.
  `
  CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('MESSAGE_ADDED', 'IMAGE_ADDED', 'IMAGE_CHANGED', 'IMAGE_DELETED')),
    conversation_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    image_id TEXT
  ) STRICT;
  CREATE INDEX changes_at ON changes (at);
  `,
];

/**
 * Brings the schema up to date. The version is read inside an IMMEDIATE transaction so two
 * processes starting on one new file cannot both apply the same migration.
 */
export function migrate(db: Database): void {
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > MIGRATIONS.length) {
      throw new Error(
        `SQLite schema version ${current} is newer than this server knows (${MIGRATIONS.length}); upgrade the server instead of downgrading the file.`,
      );
    }
    for (let version = current; version < MIGRATIONS.length; version++) {
      db.exec(MIGRATIONS[version]!);
    }
    // PRAGMA takes no bound parameters; the value is our own integer.
    if (current !== MIGRATIONS.length) db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}
