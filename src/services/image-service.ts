import { unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { BadUserInputError, NotFoundError, PayloadTooLargeError } from '../domain/errors.js';
import type { IdGenerator } from '../domain/ids.js';
import type { ImageRecord, Message, MessageRole } from '../domain/types.js';
import { visibleOrNotFound, type Viewer } from '../domain/viewer.js';
import { imageFileName, imageKey, thumbnailFileName, thumbnailKey } from '../images/naming.js';
import type { ProcessedImage } from '../images/process.js';
import { decodeBase64Image, readLimited } from '../files/read-limited.js';
import type { ConversationStore, MessageStore, ImageStore } from '../metadata/metadata-store.js';
import { checkContentLength } from './chat-service.js';
import type { LocalFiles } from '../files/ports.js';

/** The part of the local files the upload path needs. */
export type ImageFiles = Pick<LocalFiles, 'put' | 'journal' | 'delete' | 'tempPath'>;

/**
 * Validates and processes bytes (a path to a temp file or a buffer) on the bounded CPU queue;
 * `owner` is whose upload it is, for the queue's fair share (src/images/processor.ts).
 */
export type ProcessBytes = (input: Buffer | string, owner: string) => Promise<ProcessedImage>;

export type ImageSource = { kind: 'stream'; open: () => Promise<Readable> } | { kind: 'base64'; data: string };

export interface UploadLimits {
  maxUploadBytes: number;
  maxFiles: number;
  uploadIdleTimeoutMs: number;
}

/** The replication service, as the upload path uses it. */
export interface ReplicationHook {
  /** A lease taken before the record is stored, so no worker claims an image replicated inline. */
  inlineLease(): { leaseOwner: string; leaseUntil: Date };
  replicate(image: ImageRecord, leaseOwner: string): Promise<ImageRecord>;
  /** Ask the background worker to look for due images now. */
  kick(): void;
}

export interface UploadInput {
  source: ImageSource;
  conversationId: string;
  messageId: string | null;
  role: MessageRole;
  content: string;
  caption: string | null;
  generated: boolean;
  waitForCloud: boolean;
}

const MAX_CAPTION_LENGTH = 2000;
/**
 * An upload up to this size is read into memory and handed to sharp as a buffer; a bigger one
 * goes to a temp file from this size on. Phone photos fit, so most uploads skip a file write and
 * read back; ten 20 MB uploads at once hold at most 40 MB here before they spill.
 */
const IN_MEMORY_UPLOAD_BYTES = 4 * 1024 * 1024;

/**
 * The upload path: owner check, bytes read with limits, sharp processing, atomic local
 * writes, then the record. Whatever fails, nothing half-done stays behind: files written
 * for a request that then fails are removed, and no record points at a missing file.
 */
export class ImageService {
  constructor(
    private readonly deps: {
      store: ConversationStore & MessageStore & ImageStore;
      files: ImageFiles;
      process: ProcessBytes;
      clock: () => Date;
      newId: IdGenerator;
      randomBytes: (n: number) => Buffer;
      limits: UploadLimits;
      log: Logger;
      replication?: ReplicationHook;
    },
  ) {}

  async uploadImage(viewer: Viewer, input: UploadInput): Promise<{ image: ImageRecord; message: Message }> {
    if (input.caption !== null && input.caption.length > MAX_CAPTION_LENGTH) {
      throw new BadUserInputError(
        `caption is ${input.caption.length} characters long; at most ${MAX_CAPTION_LENGTH} are accepted.`,
      );
    }
    checkContentLength(input.content);
    // Ownership first: nothing is read into storage for someone else's conversation.
    const [conversation] = await this.deps.store.getConversationsByIds([input.conversationId]);
    visibleOrNotFound(viewer, 'Conversation', input.conversationId, conversation);
    const owner = (conversation as NonNullable<typeof conversation>).userId;
    let target: Message | null = null;
    if (input.messageId) {
      const [found] = await this.deps.store.getMessagesByIds([input.messageId]);
      if (!found || found.conversationId !== input.conversationId) throw new NotFoundError('Message', input.messageId);
      target = visibleOrNotFound(viewer, 'Message', input.messageId, found);
    }

    const messageId = target?.id ?? this.deps.newId();
    const lease = input.waitForCloud ? this.deps.replication?.inlineLease() : undefined;
    const image = await this.ingest(input.source, {
      lease,
      messageId,
      conversationId: input.conversationId,
      userId: owner,
      caption: input.caption,
      generated: input.generated,
    });

    try {
      if (target) {
        await this.deps.store.addImage(target.id, image.record);
        target = { ...target, images: [...target.images, image.record] };
      } else {
        target = {
          id: messageId,
          conversationId: input.conversationId,
          userId: owner,
          role: input.role,
          content: input.content,
          createdAt: this.deps.clock(),
          images: [image.record],
        };
        await this.deps.store.addMessage(target);
      }
    } catch (e) {
      await this.removeFiles(image.keys);
      throw e;
    } finally {
      await image.journal.done();
    }

    let stored = image.record;
    if (lease && this.deps.replication) stored = await this.deps.replication.replicate(image.record, lease.leaseOwner);
    else this.deps.replication?.kick();
    const message = { ...target, images: target.images.map((i) => (i.id === stored.id ? stored : i)) };
    return { image: stored, message };
  }

  /**
   * A new message carrying images (postMessage with attachments): every image is processed
   * and written first, then the message and its images are stored in one write.
   */
  async postMessageWithImages(
    viewer: Viewer,
    input: { conversationId: string; role: MessageRole; content: string; generated: boolean; sources: ImageSource[] },
  ): Promise<Message> {
    if (input.sources.length > this.deps.limits.maxFiles) {
      throw new PayloadTooLargeError(
        `${input.sources.length} images were attached; at most ${this.deps.limits.maxFiles} are accepted (MAX_FILES).`,
      );
    }
    checkContentLength(input.content);
    const [conversation] = await this.deps.store.getConversationsByIds([input.conversationId]);
    const owned = visibleOrNotFound(viewer, 'Conversation', input.conversationId, conversation);
    const messageId = this.deps.newId();
    const done: { record: ImageRecord; keys: string[]; journal: { done(): Promise<void> } }[] = [];
    try {
      // One at a time: the CPU queue is shared with every other request, and a failure
      // stops the rest from being read at all.
      for (const source of input.sources) {
        done.push(
          await this.ingest(source, {
            messageId,
            conversationId: owned.id,
            userId: owned.userId,
            caption: null,
            generated: input.generated,
          }),
        );
      }
      const message: Message = {
        id: messageId,
        conversationId: owned.id,
        userId: owned.userId,
        role: input.role,
        content: input.content,
        createdAt: this.deps.clock(),
        images: done.map((d) => d.record),
      };
      await this.deps.store.addMessage(message);
      // Attachments replicate in the background: a message with ten images must not wait on ten uploads.
      this.deps.replication?.kick();
      return message;
    } catch (e) {
      await this.removeFiles(done.flatMap((d) => d.keys));
      throw e;
    } finally {
      for (const d of done) await d.journal.done();
    }
  }

  /** Reads, validates, processes and writes one image; returns its record (not yet stored). */
  private async ingest(
    source: ImageSource,
    o: {
      messageId: string;
      conversationId: string;
      userId: string;
      caption: string | null;
      generated: boolean;
      lease?: { leaseOwner: string; leaseUntil: Date } | undefined;
    },
  ): Promise<{ record: ImageRecord; keys: string[]; journal: { done(): Promise<void> } }> {
    const processed = await this.readAndProcess(source, o.userId);
    const now = this.deps.clock();
    const name = imageFileName(now, this.deps.randomBytes(4), processed.ext);
    const key = imageKey(o.generated, name);
    const thumbKey = thumbnailKey(thumbnailFileName(name));
    // The note of the keys (so a process killed before the record is stored leaves files the
    // sweep may remove) and both files, all at once: each file write waits on two fsyncs, which
    // dominate a small upload, and the note need not land first. A process killed after a file
    // but before its note leaves a file the sweep only reports, never removes (LocalFileStore.journal).
    const [noted, ...writes] = await Promise.allSettled([
      this.deps.files.journal([key, thumbKey]),
      this.deps.files.put(key, processed.data),
      this.deps.files.put(thumbKey, processed.thumbnail),
    ]);
    const failed = [noted, ...writes].find((w): w is PromiseRejectedResult => w.status === 'rejected');
    if (failed || noted.status === 'rejected') {
      await this.removeFiles([key, thumbKey].filter((_, i) => writes[i]?.status === 'fulfilled'));
      if (noted.status === 'fulfilled') await noted.value.done();
      throw (failed as PromiseRejectedResult).reason;
    }
    const journal = noted.value;
    const written = [key, thumbKey];
    const record: ImageRecord = {
      id: this.deps.newId(),
      messageId: o.messageId,
      conversationId: o.conversationId,
      userId: o.userId,
      localKey: key,
      evictedKey: null,
      thumbnailKey: thumbKey,
      cloudUrl: null,
      thumbnailCloudUrl: null,
      cloudAlteredAt: null,
      cloudVerifiedAt: null,
      deleteUrl: null,
      caption: o.caption,
      size: processed.size,
      mimeType: processed.mimeType,
      width: processed.width,
      height: processed.height,
      generated: o.generated,
      service: 'LOCAL',
      sha256: processed.sha256,
      placeholder: processed.placeholder,
      uploadedAt: now,
      // Without any enabled provider there is nothing to wait for: LOCAL_ONLY says so (docs/api.md).
      replication: this.deps.replication
        ? {
            status: 'PENDING',
            attempts: 0,
            nextAttemptAt: null,
            lastError: null,
            leaseOwner: o.lease?.leaseOwner ?? null,
            leaseUntil: o.lease?.leaseUntil ?? null,
          }
        : {
            status: 'LOCAL_ONLY',
            attempts: 0,
            nextAttemptAt: null,
            lastError: 'cloud replication is disabled: no provider has an API key',
            leaseOwner: null,
            leaseUntil: null,
          },
    };
    return { record, keys: written, journal };
  }

  private async readAndProcess(source: ImageSource, owner: string): Promise<ProcessedImage> {
    if (source.kind === 'base64') {
      return this.deps.process(decodeBase64Image(source.data, this.deps.limits.maxUploadBytes), owner);
    }
    const temp = this.deps.files.tempPath();
    // readLimited removes a partial temp file itself when reading fails.
    const read = await readLimited(await source.open(), temp, {
      maxBytes: this.deps.limits.maxUploadBytes,
      idleTimeoutMs: this.deps.limits.uploadIdleTimeoutMs,
      memoryBytes: IN_MEMORY_UPLOAD_BYTES,
    });
    if (read.bytes === 0)
      throw new BadUserInputError('The file is empty: send the bytes of a JPEG, PNG, WebP, GIF, AVIF or TIFF image.');
    if (read.data) return this.deps.process(read.data, owner);
    try {
      return await this.deps.process(temp, owner);
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  private async removeFiles(keys: string[]): Promise<void> {
    for (const key of keys) {
      await this.deps.files.delete(key).catch((err: unknown) => {
        // Left for the reconcile pass, which removes files no record points to.
        this.deps.log.error({ err, key }, 'could not remove the file of a failed upload');
      });
    }
  }
}
