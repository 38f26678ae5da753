import { randomBytes } from 'node:crypto';
import { constants as fsConstants, type Dirent, type Stats } from 'node:fs';
import * as nodeFs from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { BadUserInputError } from '../domain/errors.js';
import type { FileSweeping, LocalFiles } from './ports.js';

/** The folders of STORAGE_DIR that hold images; anything else under the root is never served. */
export const STORAGE_FOLDERS = ['Image_Gen', 'uploads', 'thumbnails'] as const;
const TEMP_FOLDER = '.tmp';
const QUARANTINE_FOLDER = '.quarantine';
/** Notes of the keys an upload is about to write (see journal()). */
const JOURNAL_FOLDER = '.journal';

/**
 * The only key shape accepted. File names start with a letter, digit or `_` (no dot files) and
 * hold no `/`, `\`, `%`, `:` or NUL, so a key can neither climb out of its folder nor be
 * decoded into something else. The legacy app wrote the same names under `/static/Storage/`.
 */
const KEY_PATTERN = /^(?:Image_Gen|uploads|thumbnails)\/[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}$/;
const LEGACY_PREFIX = '/static/Storage/';
const FILE_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}$/;

export class InvalidKeyError extends BadUserInputError {
  constructor(key: unknown) {
    const shown = typeof key === 'string' ? JSON.stringify(key.slice(0, 80)) : typeof key;
    super(`${shown} is not a storage key: expected "<Image_Gen|uploads|thumbnails>/<file name>".`);
  }
}

/**
 * The key relative to STORAGE_DIR (`uploads/x.jpg`) for a current or legacy key, or null when
 * the key does not have the accepted shape. Pure: it never touches the disk.
 */
export function canonicalKey(key: unknown): string | null {
  if (typeof key !== 'string') return null;
  const rel = key.startsWith(LEGACY_PREFIX) ? key.slice(LEGACY_PREFIX.length) : key;
  if (!KEY_PATTERN.test(rel) || rel.includes('..')) return null;
  return rel;
}

/** Whether a stored key (current or legacy form, or null) names the same file as `key`. */
export function sameFileKey(stored: string | null, key: string): boolean {
  return stored !== null && canonicalKey(stored) === canonicalKey(key);
}

/** The `node:fs/promises` functions the store calls, so tests can make any of them fail. */
export interface FsOps {
  open: typeof nodeFs.open;
  rename: typeof nodeFs.rename;
  unlink: typeof nodeFs.unlink;
  mkdir: typeof nodeFs.mkdir;
  stat: (path: string) => Promise<Stats>;
  readdir: (path: string, options: { withFileTypes: true }) => Promise<Dirent[]>;
  /** fsync; a separate entry because FileHandle.sync cannot be replaced from outside. */
  fsync: (handle: FileHandle) => Promise<void>;
}

/** The real file-system calls (what tests wrap to inject failures). */
export const defaultFs: FsOps = {
  open: nodeFs.open,
  rename: nodeFs.rename,
  unlink: nodeFs.unlink,
  mkdir: nodeFs.mkdir,
  stat: (path) => nodeFs.stat(path),
  readdir: (path, options) => nodeFs.readdir(path, options),
  fsync: (handle) => handle.sync(),
};

export interface StoredFile {
  key: string;
  size: number;
  mtime: Date;
}

export interface OpenedFile {
  handle: FileHandle;
  size: number;
  mtime: Date;
}

const errorCode = (e: unknown): unknown => (e as NodeJS.ErrnoException | null)?.code;
const isMissing = (e: unknown): boolean => errorCode(e) === 'ENOENT' || errorCode(e) === 'ENOTDIR';
// O_NOFOLLOW: a symlink planted in a storage folder must not lead reads outside the root.
const READ_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0);

/**
 * Local copies under STORAGE_DIR. Writes are atomic (temp file in `.tmp/` on the same
 * filesystem, fsync, rename, fsync of the folder), so a crash never leaves a half-written file
 * under a key. Keys are validated before any filesystem call; nothing else becomes a path.
 */
export class LocalFileStore implements LocalFiles, FileSweeping {
  readonly root: string;
  private readonly tmpDir: string;
  private readonly fs: FsOps;
  private readonly clock: () => Date;

  constructor(o: { root: string; fs?: Partial<FsOps>; clock?: () => Date }) {
    this.root = resolve(o.root);
    this.tmpDir = join(this.root, TEMP_FOLDER);
    this.fs = { ...defaultFs, ...o.fs };
    this.clock = o.clock ?? (() => new Date());
  }

  async init(): Promise<void> {
    for (const folder of [...STORAGE_FOLDERS, TEMP_FOLDER, JOURNAL_FOLDER]) {
      await this.fs.mkdir(join(this.root, folder), { recursive: true });
    }
  }

  /** Absolute path of a key; throws InvalidKeyError for anything but a well-formed key. */
  resolveKey(key: string): string {
    const rel = canonicalKey(key);
    if (rel === null) throw new InvalidKeyError(key);
    const abs = resolve(this.root, rel);
    // Belt and braces: the pattern already forbids escaping, this catches a future pattern bug.
    if (!abs.startsWith(this.root + sep)) throw new InvalidKeyError(key);
    return abs;
  }

  absolutePath(key: string): string {
    return this.resolveKey(key);
  }

  /** A fresh path in `.tmp/` (same filesystem as the final files) for an upload to stream into. */
  tempPath(): string {
    return join(this.tmpDir, `${randomBytes(16).toString('hex')}.part`);
  }

  async put(key: string, data: Buffer): Promise<void> {
    const target = this.resolveKey(key);
    const temp = this.tempPath();
    try {
      const handle = await this.retryMissingDir(() => this.fs.open(temp, 'wx', 0o644), this.tmpDir);
      try {
        await handle.writeFile(data);
        await this.fs.fsync(handle);
      } finally {
        await handle.close();
      }
    } catch (e) {
      await this.removeQuietly(temp);
      throw e;
    }
    await this.commit(temp, target);
  }

  /**
   * Moves a finished temp file (from tempPath()) to the key; the temp file is gone afterwards.
   * `synced`: the writer already fsync'd it (a write stream with `flush`), so it is not reopened.
   */
  async putFromFile(key: string, tempPath: string, o: { synced?: boolean } = {}): Promise<void> {
    const target = this.resolveKey(key);
    // Only our own temp files: a rename from anywhere else could move files out of their place.
    if (dirname(resolve(tempPath)) !== this.tmpDir) throw new InvalidKeyError(tempPath);
    if (!o.synced) await this.syncTemp(tempPath);
    await this.commit(tempPath, target);
  }

  private async syncTemp(tempPath: string): Promise<void> {
    try {
      const handle = await this.fs.open(tempPath, 'r+');
      try {
        await this.fs.fsync(handle);
      } finally {
        await handle.close();
      }
    } catch (e) {
      await this.removeQuietly(tempPath);
      throw e;
    }
  }

  /** False when there was nothing to delete, so a repeated delete is harmless. */
  async delete(key: string): Promise<boolean> {
    const path = this.resolveKey(key);
    try {
      await this.fs.unlink(path);
      return true;
    } catch (e) {
      if (isMissing(e)) return false;
      throw e;
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== null;
  }

  async stat(key: string): Promise<{ size: number; mtime: Date } | null> {
    const path = this.resolveKey(key);
    try {
      const s = await this.fs.stat(path);
      return s.isFile() ? { size: s.size, mtime: s.mtime } : null;
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
  }

  /**
   * Opens a key for reading; null when there is no regular file. Size comes from the open
   * descriptor, so a concurrent replace cannot make it disagree with the bytes read.
   * The caller owns the handle and must close it.
   */
  async openRead(key: string): Promise<OpenedFile | null> {
    const path = this.resolveKey(key);
    let handle: FileHandle;
    try {
      handle = await this.fs.open(path, READ_FLAGS);
    } catch (e) {
      if (isMissing(e) || errorCode(e) === 'ELOOP') return null;
      throw e;
    }
    const s = await handle.stat().catch(async (e: unknown) => {
      await handle.close();
      throw e;
    });
    if (s.isFile()) return { handle, size: s.size, mtime: s.mtime };
    await handle.close();
    return null;
  }

  /**
   * Notes, before an upload writes its files, the keys it is about to write, in
   * `.journal/<random>.json`; `done()` removes the note once the record naming them is stored
   * (or the files are removed again). A process killed in between leaves the note, and the
   * orphan sweep removes only files such a note names: a file the server did not write, or one
   * from before the journal existed, is never deleted, only reported. The note is not fsynced:
   * one lost in a power cut only means its files are reported instead of removed.
   */
  async journal(keys: readonly string[]): Promise<{ done(): Promise<void> }> {
    const rel = keys.map((k) => {
      const c = canonicalKey(k);
      if (c === null) throw new InvalidKeyError(k);
      return c;
    });
    const path = join(this.root, JOURNAL_FOLDER, `${randomBytes(12).toString('hex')}.json`);
    const handle = await this.retryMissingDir(() => this.fs.open(path, 'wx', 0o644), dirname(path));
    try {
      await handle.writeFile(JSON.stringify({ keys: rel }));
    } finally {
      await handle.close();
    }
    return { done: () => this.removeQuietly(path) };
  }

  /** The journal's notes (see journal()), each with its keys, its age and a way to remove it. */
  async *listJournal(): AsyncIterable<{ keys: string[]; mtime: Date; remove(): Promise<void> }> {
    const dir = join(this.root, JOURNAL_FOLDER);
    for (const entry of await this.readdirOrEmpty(dir)) {
      if (!entry.isFile() || !entry.name.endsWith('.json')) continue;
      const path = join(dir, entry.name);
      let keys: string[];
      let mtime: Date;
      try {
        const handle = await this.fs.open(path, 'r');
        try {
          mtime = (await handle.stat()).mtime;
          const parsed = JSON.parse(await handle.readFile('utf8')) as { keys?: unknown };
          // Only well-formed keys count, whatever the note says.
          keys = Array.isArray(parsed.keys) ? parsed.keys.map(canonicalKey).filter((k): k is string => k !== null) : [];
        } finally {
          await handle.close();
        }
      } catch (e) {
        if (isMissing(e)) continue;
        // A note cut short by a crash names nothing for sure: it is kept for an operator.
        if (e instanceof SyntaxError) continue;
        throw e;
      }
      yield { keys, mtime, remove: () => this.removeQuietly(path) };
    }
  }

  /** Moves a file to `.quarantine/<date>/<key>` (outside the served folders), for an operator to inspect. */
  async quarantine(key: string): Promise<void> {
    const from = this.resolveKey(key);
    const to = join(this.root, QUARANTINE_FOLDER, this.clock().toISOString().slice(0, 10), canonicalKey(key) as string);
    await this.fs.mkdir(dirname(to), { recursive: true });
    await this.fs.rename(from, to);
  }

  /** Every file of the three folders whose name could be a key (for reconcile). */
  async *listKeys(): AsyncIterable<StoredFile> {
    for (const folder of STORAGE_FOLDERS) {
      const dir = join(this.root, folder);
      for (const entry of await this.readdirOrEmpty(dir)) {
        if (!entry.isFile() || !FILE_NAME_PATTERN.test(entry.name) || entry.name.includes('..')) continue;
        try {
          const s = await this.fs.stat(join(dir, entry.name));
          yield { key: `${folder}/${entry.name}`, size: s.size, mtime: s.mtime };
        } catch (e) {
          if (!isMissing(e)) throw e; // deleted while we walked: not a file any more
        }
      }
    }
  }

  /**
   * Removes temp files last modified more than `olderThanMs` ago: leftovers of crashes.
   * An upload in progress keeps touching its file, so pick a value well above the upload
   * idle timeout. Returns how many were removed (with `dryRun`, how many would be).
   */
  async cleanupTemp(olderThanMs: number, o: { dryRun?: boolean } = {}): Promise<number> {
    const cutoff = this.clock().getTime() - olderThanMs;
    let removed = 0;
    for (const entry of await this.readdirOrEmpty(this.tmpDir)) {
      if (!entry.isFile()) continue;
      const path = join(this.tmpDir, entry.name);
      try {
        if ((await this.fs.stat(path)).mtimeMs >= cutoff) continue;
        if (!o.dryRun) await this.fs.unlink(path);
        removed++;
      } catch (e) {
        if (!isMissing(e)) throw e;
      }
    }
    return removed;
  }

  /** rename + fsync of the folder; on failure neither the temp file nor a new final file stays. */
  private async commit(temp: string, target: string): Promise<void> {
    try {
      await this.retryMissingDir(() => this.fs.rename(temp, target), dirname(target));
    } catch (e) {
      await this.removeQuietly(temp);
      throw e;
    }
    try {
      await this.syncDir(dirname(target));
    } catch (e) {
      // The name may not survive a crash; a rejected put must not leave a file behind either.
      await this.removeQuietly(target);
      throw e;
    }
  }

  private async syncDir(dir: string): Promise<void> {
    let handle: FileHandle;
    try {
      handle = await this.fs.open(dir, 'r');
    } catch (e) {
      // Windows cannot open a folder for fsync; rename there is as durable as it gets.
      if (errorCode(e) === 'EISDIR' || errorCode(e) === 'EPERM') return;
      throw e;
    }
    try {
      await this.fs.fsync(handle);
    } finally {
      await handle.close();
    }
  }

  /** A storage folder removed under a running server (disk swap, manual cleanup) is recreated once. */
  private async retryMissingDir<T>(op: () => Promise<T>, dir: string): Promise<T> {
    try {
      return await op();
    } catch (e) {
      if (errorCode(e) !== 'ENOENT') throw e;
      await this.fs.mkdir(dir, { recursive: true });
      return op();
    }
  }

  private async readdirOrEmpty(dir: string): Promise<Dirent[]> {
    try {
      return await this.fs.readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (isMissing(e)) return [];
      throw e;
    }
  }

  private async removeQuietly(path: string): Promise<void> {
    await this.fs.unlink(path).catch(() => undefined);
  }
}
