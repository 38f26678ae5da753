import type { Page, PageRequest } from '../domain/cursor.js';
import { BadUserInputError } from '../domain/errors.js';
import type { IdGenerator } from '../domain/ids.js';
import type { Conversation, ImageFilter, ImageRecord, Message, MessageRole, StorageStats } from '../domain/types.js';
import { ownerScope, visibleOrNotFound, type Viewer } from '../domain/viewer.js';
import type { ConversationStore, MessageStore, ImageStore, ImageQueries } from '../metadata/metadata-store.js';

export const MAX_TITLE_LENGTH = 500;
export const MAX_CONTENT_LENGTH = 100_000;

/** A message's text, however the message is made (postMessage, uploadImage, attachments). */
export function checkContentLength(content: string): void {
  if (content.length > MAX_CONTENT_LENGTH) {
    throw new BadUserInputError(
      `content is ${content.length} characters long; at most ${MAX_CONTENT_LENGTH} are accepted.`,
    );
  }
}

/**
 * Conversations, messages and image reads, with the ownership rule applied: a user sees
 * only their own data, an admin sees everything, and someone else's id is NOT_FOUND.
 * The batch methods (`*ByIds`, `messagePages`, `imageCounts`) are what DataLoaders call;
 * they apply no owner filter because their parents were already checked.
 */
export class ChatService {
  constructor(
    private readonly store: ConversationStore & MessageStore & ImageStore & ImageQueries,
    private readonly clock: () => Date,
    private readonly newId: IdGenerator,
  ) {}

  async createConversation(viewer: Viewer, input: { title?: string | null }): Promise<Conversation> {
    const title = input.title?.trim() || null;
    if (title !== null && title.length > MAX_TITLE_LENGTH) {
      throw new BadUserInputError(
        `title is ${title.length} characters long; at most ${MAX_TITLE_LENGTH} are accepted.`,
      );
    }
    const now = this.clock();
    const conversation: Conversation = {
      id: this.newId(),
      userId: viewer.userId,
      title,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.createConversation(conversation);
    return conversation;
  }

  async getConversation(viewer: Viewer, id: string): Promise<Conversation> {
    const [found] = await this.store.getConversationsByIds([id]);
    return visibleOrNotFound(viewer, 'Conversation', id, found);
  }

  listConversations(viewer: Viewer, page: PageRequest): Promise<Page<Conversation>> {
    return this.store.listConversations(ownerScope(viewer), page);
  }

  /**
   * Adds a text message to a conversation the viewer owns (an admin may post anywhere; the
   * message then belongs to the conversation's owner, so ownership stays consistent).
   */
  async postMessage(
    viewer: Viewer,
    input: { conversationId: string; role: MessageRole; content: string },
  ): Promise<Message> {
    checkContentLength(input.content);
    const conversation = await this.getConversation(viewer, input.conversationId);
    const message: Message = {
      id: this.newId(),
      conversationId: conversation.id,
      userId: conversation.userId,
      role: input.role,
      content: input.content,
      createdAt: this.clock(),
      images: [],
    };
    await this.store.addMessage(message);
    return message;
  }

  async getMessage(viewer: Viewer, id: string): Promise<Message> {
    const [found] = await this.store.getMessagesByIds([id]);
    return visibleOrNotFound(viewer, 'Message', id, found);
  }

  async getImage(viewer: Viewer, id: string): Promise<ImageRecord> {
    const [found] = await this.store.getImagesByIds([id]);
    return visibleOrNotFound(viewer, 'Image', id, found);
  }

  async listImages(viewer: Viewer, filter: ImageFilter, page: PageRequest): Promise<Page<ImageRecord>> {
    if (filter.conversationId) {
      // Someone else's conversation id is NOT_FOUND rather than an empty page.
      await this.getConversation(viewer, filter.conversationId);
    }
    if (filter.minSize != null && filter.maxSize != null && filter.minSize > filter.maxSize) {
      throw new BadUserInputError(
        `filter.minSize (${filter.minSize}) is larger than filter.maxSize (${filter.maxSize}).`,
      );
    }
    return this.store.listImages(ownerScope(viewer), filter, page);
  }

  storageStats(viewer: Viewer): Promise<StorageStats> {
    return this.store.storageStats(ownerScope(viewer));
  }

  conversationsByIds(ids: readonly string[]): Promise<Conversation[]> {
    return this.store.getConversationsByIds(ids);
  }

  messagesByIds(ids: readonly string[]): Promise<Message[]> {
    return this.store.getMessagesByIds(ids);
  }

  messagePages(conversationIds: readonly string[], page: PageRequest): Promise<Map<string, Page<Message>>> {
    return this.store.listMessagesOfConversations(conversationIds, page);
  }

  imageCounts(conversationIds: readonly string[]): Promise<Map<string, number>> {
    return this.store.countImagesByConversation(conversationIds);
  }
}
