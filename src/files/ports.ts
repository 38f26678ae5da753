/**
 * The local copies under STORAGE_DIR, as the services see them. LocalFileStore
 * (local-file-store.ts) implements both ports; each service names the methods it uses
 * (`Pick<LocalFiles, 'put' | 'delete'>`), so its tests know what to fake.
 */

/** Files by key (`<Image_Gen|uploads|thumbnails>/<name>`): written atomically and durably, read, removed. */
export interface LocalFiles {
  /** Creates the folders (again, after a disk loss). */
  init(): Promise<void>;
  /** Null when there is no regular file under the key. */
  stat(key: string): Promise<{ size: number; mtime: Date } | null>;
  /** Absolute path of a key; throws InvalidKeyError for anything but a well-formed key. */
  absolutePath(key: string): string;
  /** A fresh path in the store's temp folder, on the same filesystem as the final files. */
  tempPath(): string;
  /** Writes the bytes under the key: temp file, fsync, rename, fsync of the folder. */
  put(key: string, data: Buffer): Promise<void>;
  /** Moves a finished temp file (from tempPath()) to the key; `synced`: it is fsync'd already. */
  putFromFile(key: string, tempPath: string, o?: { synced?: boolean }): Promise<void>;
  /** False when there was nothing to delete, so a repeated delete is harmless. */
  delete(key: string): Promise<boolean>;
  /**
   * Notes the keys an upload is about to write: the orphan sweep deletes only files such a note
   * names. `done()` once the record is stored or the files removed.
   */
  journal(keys: readonly string[]): Promise<{ done(): Promise<void> }>;
}

/** What the orphan sweep and reconcile need: every file, the journal's notes, and the temp folder. */
export interface FileSweeping extends Pick<LocalFiles, 'delete'> {
  /** Every file of the three folders whose name could be a key. */
  listKeys(): AsyncIterable<{ key: string; size: number; mtime: Date }>;
  /** The notes of keys uploads were about to write (LocalFiles.journal), each with a way to remove it. */
  listJournal(): AsyncIterable<{ keys: string[]; mtime: Date; remove(): Promise<void> }>;
  /** Moves the file aside (under STORAGE_DIR/.quarantine) instead of deleting it. */
  quarantine(key: string): Promise<void>;
  /** Removes temp files older than `olderThanMs` (crash leftovers); how many (with `dryRun`, would be). */
  cleanupTemp(olderThanMs: number, o?: { dryRun?: boolean }): Promise<number>;
}
