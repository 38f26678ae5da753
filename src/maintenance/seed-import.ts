import { copyFile, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type { Conversation, ImageRecord, Message } from '../domain/types.js';
import { thumbnailFileName, thumbnailKey } from '../images/naming.js';
import type { ImageProbe } from '../images/validate.js';
import { canonicalKey } from '../files/local-file-store.js';
import type { ConversationStore, MessageStore, ImageStore } from '../metadata/metadata-store.js';
import {
  docToConversation,
  docToMessage,
  fileNameOf,
  idString,
  type ConversationDoc,
  type MessageDoc,
} from '../metadata/mongo/documents.js';
import type { ExportEntry } from '../metadata/mongo/export-file.js';
import { messageOf } from '../domain/errors.js';
import type { LocalFiles } from '../files/ports.js';

/**
 * import-seed: moves a deployment of the seed chatbot (its `mongoexport` files and its Storage
 * folder) into this server's store and STORAGE_DIR, losing nothing and changing nothing at the
 * source. Documents are read with the same mapping the MongoDB adapter reads them with
 * (documents.ts), so an image means the same here as when the server points at the seed's
 * database: `cloud_url = url` or `service: 'local'` is no cloud copy, a message without
 * `user_id` belongs to its conversation's owner.
 *
 * For each image it copies the original (and the seed's thumbnail, else makes one), computes
 * sha256, size, width and height from the bytes, keeps the seed's names, cloud and delete URLs,
 * and queues a local-only image for replication. A cloud copy it finds recorded is kept as
 * REPLICATED but not verified (cleanup checks it before trusting it). Running it again imports
 * nothing twice: ids are the documents' own (or derived from them as the reader derives them),
 * and what is stored already is skipped. A file in STORAGE_DIR is never overwritten, and only
 * files the import writes are journaled, so a crash mid-way leaves nothing the sweep could take
 * for its own but what the import wrote.
 */

export interface SeedImportInput {
  messages: AsyncIterable<ExportEntry>;
  conversations: AsyncIterable<ExportEntry> | null;
  /** The seed's Storage folder (holding Image_Gen/, uploads/, thumbnails/). May be STORAGE_DIR itself. */
  sourceDir: string;
  /** Owner of documents that name none (LEGACY_DEFAULT_OWNER, or --owner). */
  owner: string | null;
  dryRun: boolean;
}

export interface SeedProblem {
  kind: 'unreadable' | 'missingNoCloudCopy' | 'ownerless' | 'conflicts' | 'failed';
  /** `messages.json:12`, a message id, or an image id with its file. */
  where: string;
  reason: string;
}

export interface SeedImportResult {
  conversations: number;
  messages: number;
  /** Images imported, including those whose local file is missing but that have a cloud copy. */
  images: number;
  conversationsAlreadyImported: number;
  messagesAlreadyImported: number;
  imagesAlreadyImported: number;
  /** Imported without a local file: `restore` brings it back from the cloud copy. */
  missingWithCloudCopy: number;
  /** Neither the file nor a cloud copy: not imported (lost before the import). */
  missingNoCloudCopy: number;
  /** A line that is no document, a document without ids, or a file sharp cannot read as an image. */
  unreadable: number;
  /** Messages (and conversations) with no owner anywhere and no --owner: not imported. */
  ownerless: number;
  /** A different file already has the name in STORAGE_DIR: the image is not imported, nothing is overwritten. */
  conflicts: number;
  /** Anything else that went wrong (logged). */
  failed: number;
  thumbnailsMade: number;
  /** Local-only images, imported as PENDING: the replication worker gives them a cloud copy. */
  queuedForReplication: number;
  /** The first 100 problems. */
  problems: SeedProblem[];
}

const MAX_PROBLEMS = 100;

export interface SeedImportDeps {
  store: ConversationStore & MessageStore & ImageStore;
  files: Omit<LocalFiles, 'init'>;
  probe: (path: string) => Promise<ImageProbe>;
  thumbnail: (path: string) => Promise<Buffer>;
  sha256File: (path: string) => Promise<string>;
  clock: () => Date;
  log: Logger;
  /** Messages imported at once (default IMPORT_CONCURRENCY). */
  concurrency?: number;
}

export const IMPORT_CONCURRENCY = 8;

/** An image ready to store, with the files the import has to write for it. */
interface Prepared {
  record: ImageRecord;
  copies: { key: string; from: string }[];
  made: { key: string; data: Buffer }[];
  /** Its file is missing: the cloud copy is all there is, until a restore. */
  missing: boolean;
}

export class SeedImportService {
  /** Thumbnail names given to images of the running import (see freeKey). */
  private taken = new Set<string>();

  constructor(private readonly deps: SeedImportDeps) {}

  async run(input: SeedImportInput, onProgress?: (done: number) => void): Promise<SeedImportResult> {
    this.taken = new Set();
    const result: SeedImportResult = {
      conversations: 0,
      messages: 0,
      images: 0,
      conversationsAlreadyImported: 0,
      messagesAlreadyImported: 0,
      imagesAlreadyImported: 0,
      missingWithCloudCopy: 0,
      missingNoCloudCopy: 0,
      unreadable: 0,
      ownerless: 0,
      conflicts: 0,
      failed: 0,
      thumbnailsMade: 0,
      queuedForReplication: 0,
      problems: [],
    };
    const problem = (p: SeedProblem) => {
      result[p.kind]++;
      if (result.problems.length < MAX_PROBLEMS) result.problems.push(p);
      this.deps.log.warn(p, 'import-seed: not imported');
    };

    // Conversations are few next to messages: held in memory, by id.
    const conversationDocs = new Map<string, ConversationDoc>();
    if (input.conversations) {
      for await (const entry of input.conversations) {
        if (!entry.ok) {
          problem({ kind: 'unreadable', where: `conversations:${entry.line}`, reason: entry.reason });
          continue;
        }
        if (entry.doc['_id'] == null) {
          problem({ kind: 'unreadable', where: `conversations:${entry.line}`, reason: 'the document has no _id' });
          continue;
        }
        conversationDocs.set(idString(entry.doc['_id'] as ConversationDoc['_id']), entry.doc as ConversationDoc);
      }
    }
    // The owner of each conversation seen so far (null: it has none and was not imported). A
    // promise, so messages imported at once never create their conversation twice.
    const ensured = new Map<string, Promise<string | null>>();
    const ensureConversation = (id: string, fallback: { owner: string | null; at: Date }): Promise<string | null> => {
      let known = ensured.get(id);
      if (!known) {
        known = createConversation(id, fallback);
        ensured.set(id, known);
      }
      return known;
    };
    const createConversation = async (
      id: string,
      fallback: { owner: string | null; at: Date },
    ): Promise<string | null> => {
      const doc = conversationDocs.get(id);
      const [stored] = await this.deps.store.getConversationsByIds([id]);
      const owner = stored?.userId ?? (doc?.user_id != null ? idString(doc.user_id) : fallback.owner);
      if (stored) {
        result.conversationsAlreadyImported++;
      } else if (owner === null) {
        problem({
          kind: 'ownerless',
          where: `conversation ${id}`,
          reason:
            'neither the conversation nor its messages name a user_id; pass --owner (or set LEGACY_DEFAULT_OWNER)',
        });
        return null;
      } else {
        const conversation: Conversation = doc
          ? { ...docToConversation({ ...doc, user_id: owner }), id }
          : { id, userId: owner, title: null, createdAt: fallback.at, updatedAt: fallback.at };
        if (!input.dryRun) await this.deps.store.createConversation(conversation);
        result.conversations++;
      }
      return owner;
    };

    // Messages are imported a few at once (each waits on fsyncs, not on the CPU), reading the
    // file only as far as the work: at most twice the concurrency are held.
    const concurrency = this.deps.concurrency ?? IMPORT_CONCURRENCY;
    const limit = pLimit(concurrency);
    const inFlight = new Set<Promise<void>>();
    // The same message twice in an export is imported once: the second waits for the first.
    const byId = new Map<string, Promise<void>>();
    let done = 0;
    for await (const entry of input.messages) {
      if (!entry.ok) {
        problem({ kind: 'unreadable', where: `messages:${entry.line}`, reason: entry.reason });
        onProgress?.(++done);
        continue;
      }
      const doc = entry.doc as MessageDoc;
      if (doc._id == null || doc.conversation_id == null) {
        problem({
          kind: 'unreadable',
          where: `messages:${entry.line}`,
          reason: 'the document has no _id or no conversation_id',
        });
        onProgress?.(++done);
        continue;
      }
      const id = idString(doc._id);
      const before = byId.get(id);
      const task: Promise<void> = limit(async () => {
        await before;
        try {
          await this.importMessage(doc, input, ensureConversation, problem, result);
        } catch (err) {
          problem({ kind: 'failed', where: `message ${id}`, reason: messageOf(err) });
        }
        onProgress?.(++done);
      });
      byId.set(id, task);
      inFlight.add(task);
      void task.finally(() => {
        inFlight.delete(task);
        if (byId.get(id) === task) byId.delete(id);
      });
      if (inFlight.size >= 2 * concurrency) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    // Conversations without messages are the users' data too.
    for (const [id, doc] of conversationDocs) {
      if (!ensured.has(id))
        await ensureConversation(id, {
          owner: input.owner,
          at: docToConversation({ ...doc, user_id: doc.user_id ?? '' }).createdAt,
        });
    }
    this.deps.log.info({ ...result, problems: result.problems.length, dryRun: input.dryRun }, 'import-seed finished');
    return result;
  }

  private async importMessage(
    doc: MessageDoc,
    input: SeedImportInput,
    ensureConversation: (id: string, fallback: { owner: string | null; at: Date }) => Promise<string | null>,
    problem: (p: SeedProblem) => void,
    result: SeedImportResult,
  ): Promise<void> {
    const conversationId = idString(doc.conversation_id);
    const own = doc.user_id != null ? idString(doc.user_id) : null;
    const message = docToMessage({ ...doc, user_id: own ?? '' });
    const conversationOwner = await ensureConversation(conversationId, {
      owner: own ?? input.owner,
      at: message.createdAt,
    });
    if (conversationOwner === null) {
      problem({
        kind: 'ownerless',
        where: `message ${message.id}`,
        reason: `no user_id on the message nor on its conversation ${conversationId}; pass --owner (or set LEGACY_DEFAULT_OWNER)`,
      });
      return;
    }
    // The seed's messages carry no user_id: the conversation's owner is theirs.
    const userId = own ?? conversationOwner;
    const owned: Message = { ...message, userId, images: message.images.map((i) => ({ ...i, userId })) };
    const [existing] = await this.deps.store.getMessagesByIds([owned.id]);
    const present = new Set(existing?.images.map((i) => i.id) ?? []);
    const prepared: Prepared[] = [];
    for (const image of owned.images) {
      if (present.has(image.id)) {
        result.imagesAlreadyImported++;
        continue;
      }
      const p = await this.prepare(image, resolve(input.sourceDir), problem, input.dryRun);
      if (p) prepared.push(p);
    }
    if (input.dryRun) {
      if (existing) result.messagesAlreadyImported++;
      else result.messages++;
      this.count(prepared, result);
      return;
    }
    // Only what the import writes is journaled: an in-place import (sourceDir = STORAGE_DIR)
    // must never put the seed's own files on a list the sweep may delete from.
    const written = prepared.flatMap((p) => [...p.copies.map((c) => c.key), ...p.made.map((m) => m.key)]);
    const journal = written.length > 0 ? await this.deps.files.journal(written) : null;
    try {
      // On failure the files of what is not recorded go (nobody's), before the note naming them.
      if (existing) {
        for (const p of prepared) {
          const files = await this.write(p);
          await this.deps.store.addImage(owned.id, p.record).catch(async (e: unknown) => {
            await this.remove(files);
            throw e;
          });
        }
        result.messagesAlreadyImported++;
      } else {
        const files: string[] = [];
        try {
          for (const p of prepared) files.push(...(await this.write(p)));
          await this.deps.store.addMessage({ ...owned, images: prepared.map((p) => p.record) });
        } catch (e) {
          await this.remove(files);
          throw e;
        }
        result.messages++;
      }
    } finally {
      await journal?.done();
    }
    this.count(prepared, result);
  }

  private count(prepared: Prepared[], result: SeedImportResult): void {
    for (const p of prepared) {
      result.images++;
      result.thumbnailsMade += p.made.length;
      if (p.missing) result.missingWithCloudCopy++;
      if (p.record.replication.status === 'PENDING') result.queuedForReplication++;
    }
  }

  /** The record of one image, with the files to copy or make; null (and a problem) when it cannot be imported. */
  private async prepare(
    image: ImageRecord,
    sourceDir: string,
    problem: (p: SeedProblem) => void,
    dryRun: boolean,
  ): Promise<Prepared | null> {
    const where = `image ${image.id}${image.localKey ? ` (${image.localKey})` : ''}`;
    const fromCloud = image.cloudUrl
      ? canonicalKey(`${image.generated ? 'Image_Gen' : 'uploads'}/${fileNameOf(image.cloudUrl)}`)
      : null;
    const key = (image.localKey ? canonicalKey(image.localKey) : null) ?? fromCloud;
    if (key === null) {
      problem({
        kind: 'unreadable',
        where,
        reason: image.localKey
          ? 'its url is not a /static/Storage/<folder>/<name> path'
          : 'it has neither a url nor a cloud_url',
      });
      return null;
    }
    const source = join(sourceDir, key);
    const present = await isFile(source);
    if (!present && !image.cloudUrl) {
      problem({
        kind: 'missingNoCloudCopy',
        where,
        reason: 'its file is missing from the Storage folder and it has no cloud copy',
      });
      return null;
    }
    const copies: Prepared['copies'] = [];
    const made: Prepared['made'] = [];
    const base = { ...image, localKey: key, evictedKey: null, cloudVerifiedAt: null, placeholder: null };
    const replication = {
      ...image.replication,
      status: image.cloudUrl ? ('REPLICATED' as const) : ('PENDING' as const),
      attempts: 0,
      nextAttemptAt: null,
      leaseOwner: null,
      leaseUntil: null,
    };
    const seedThumb = image.thumbnailKey ? canonicalKey(image.thumbnailKey) : null;

    if (!present) {
      // The cloud copy is all there is: restore downloads it (and makes the thumbnail again).
      const thumbKey =
        seedThumb && (await isFile(join(sourceDir, seedThumb)))
          ? seedThumb
          : await this.freeKey(this.thumbnailNames(key));
      if (thumbKey === null) {
        problem({
          kind: 'conflicts',
          where,
          reason: 'STORAGE_DIR already holds files at the names its thumbnail would take; nothing was overwritten',
        });
        return null;
      }
      if (
        thumbKey === seedThumb &&
        !(await this.placeCopy(thumbKey, join(sourceDir, thumbKey), copies, where, problem))
      )
        return null;
      return {
        record: { ...base, thumbnailKey: thumbKey, sha256: '', replication: { ...replication, lastError: null } },
        copies,
        made,
        missing: true,
      };
    }

    let probe: ImageProbe;
    try {
      probe = await this.deps.probe(source);
    } catch (e) {
      problem({
        kind: 'unreadable',
        where,
        reason: `not an image this server reads: ${messageOf(e)}`,
      });
      return null;
    }
    const [sha256, size] = await Promise.all([this.deps.sha256File(source), stat(source).then((s) => s.size)]);
    if (!(await this.placeCopy(key, source, copies, where, problem, sha256))) return null;
    let thumbKey: string;
    if (seedThumb && (await isFile(join(sourceDir, seedThumb)))) {
      thumbKey = seedThumb;
      if (!(await this.placeCopy(thumbKey, join(sourceDir, thumbKey), copies, where, problem))) return null;
    } else {
      // A name of its own: `a.jpg` and `a.png` would both make `thumb_a.webp`, and a file already
      // there is someone else's (another image's, or one the server did not write).
      const free = await this.freeKey(this.thumbnailNames(key));
      if (free === null) {
        problem({
          kind: 'conflicts',
          where,
          reason: `STORAGE_DIR already holds files at the names its new thumbnail would take; nothing was overwritten`,
        });
        return null;
      }
      thumbKey = free;
      // A dry run counts the thumbnail it would make without making it (the costliest step).
      made.push({ key: thumbKey, data: dryRun ? Buffer.alloc(0) : await this.deps.thumbnail(source) });
    }
    const upright = probe.orientation !== null && probe.orientation >= 5;
    return {
      record: {
        ...base,
        thumbnailKey: thumbKey,
        sha256,
        size,
        mimeType: probe.mimeType,
        width: upright ? probe.height : probe.width,
        height: upright ? probe.width : probe.height,
        replication: { ...replication, lastError: null },
      },
      copies,
      made,
      missing: false,
    };
  }

  /**
   * Notes a copy of `from` to `key` unless STORAGE_DIR holds the same bytes there already (an
   * in-place import, or a second run). Another file under the name is a conflict: false.
   */
  private async placeCopy(
    key: string,
    from: string,
    copies: Prepared['copies'],
    where: string,
    problem: (p: SeedProblem) => void,
    sha256?: string,
  ): Promise<boolean> {
    const dest = this.deps.files.absolutePath(key);
    if ((await this.deps.files.stat(key)) === null) {
      copies.push({ key, from });
      return true;
    }
    // The file is there already: fine if it is this very file or the same bytes, and no other image's.
    const owner = await this.deps.store.findImageByFileKey(key);
    if (owner) {
      problem({
        kind: 'conflicts',
        where,
        reason: `${key} is already the file of image ${owner.id}; nothing was overwritten`,
      });
      return false;
    }
    if (dest === from) return true;
    const [there, here] = await Promise.all([this.deps.sha256File(dest), sha256 ?? this.deps.sha256File(from)]);
    if (there === here) return true;
    problem({
      kind: 'conflicts',
      where,
      reason: `STORAGE_DIR already holds another file at ${key}; nothing was overwritten`,
    });
    return false;
  }

  /** Names for a thumbnail the import makes: `thumb_<stem>.webp`, else `thumb_<stem>_<ext>.webp` (for `a.jpg` beside `a.png`). */
  private thumbnailNames(key: string): string[] {
    const name = fileNameOf(key);
    return [
      thumbnailKey(thumbnailFileName(name)),
      thumbnailKey(thumbnailFileName(name.replace(/\.([^.]+)$/, '_$1.x'))),
    ];
  }

  /**
   * The first of `keys` no file in STORAGE_DIR has and no other image of this import was given
   * (its file may not be written yet), or null. The one chosen is taken.
   */
  private async freeKey(keys: string[]): Promise<string | null> {
    for (const key of keys) {
      // Checked after the stat: another message imported at once may have taken it meanwhile.
      if ((await this.deps.files.stat(key)) !== null || this.taken.has(key)) continue;
      this.taken.add(key);
      return key;
    }
    return null;
  }

  /** Writes the files of `p`; on failure removes those it wrote (they are nobody's) and throws. */
  private async write(p: Prepared): Promise<string[]> {
    const written: string[] = [];
    try {
      for (const c of p.copies) {
        const temp = this.deps.files.tempPath();
        try {
          await copyFile(c.from, temp);
          await this.deps.files.putFromFile(c.key, temp);
          written.push(c.key);
        } finally {
          await unlink(temp).catch(() => undefined);
        }
      }
      for (const m of p.made) {
        await this.deps.files.put(m.key, m.data);
        written.push(m.key);
      }
    } catch (e) {
      await this.remove(written);
      throw e;
    }
    return written;
  }

  private async remove(keys: readonly string[]): Promise<void> {
    for (const key of keys) await this.deps.files.delete(key).catch(() => undefined);
  }
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}
