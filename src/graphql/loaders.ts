import DataLoader from 'dataloader';
import type { Page } from '../domain/cursor.js';
import { encodeCursor } from '../domain/cursor.js';
import type { Conversation, Message } from '../domain/types.js';
import type { ChatService } from '../services/chat-service.js';
import type { PageRequest } from '../domain/cursor.js';

export interface MessagePageKey {
  conversationId: string;
  page: PageRequest;
}

/**
 * Per-request loaders: every parent of a list resolves its children through one batched
 * store call, so a page of conversations with their messages and images costs a constant
 * number of round trips. Created per request, so nothing is cached across users.
 */
export function createLoaders(chat: ChatService, options: { batch?: boolean } = {}) {
  // batch: false exists only so bench/read.ts can measure what batching saves.
  const batch = options.batch ?? true;
  return {
    conversation: new DataLoader<string, Conversation | undefined>(
      async (ids) => {
        const found = new Map((await chat.conversationsByIds(ids)).map((c) => [c.id, c]));
        return ids.map((id) => found.get(id));
      },
      { batch },
    ),
    message: new DataLoader<string, Message | undefined>(
      async (ids) => {
        const found = new Map((await chat.messagesByIds(ids)).map((m) => [m.id, m]));
        return ids.map((id) => found.get(id));
      },
      { batch },
    ),
    imageCount: new DataLoader<string, number>(
      async (ids) => {
        const counts = await chat.imageCounts(ids);
        return ids.map((id) => counts.get(id) ?? 0);
      },
      { batch },
    ),
    // Keys that ask for the same page shape are batched into one store call.
    messagePage: new DataLoader<MessagePageKey, Page<Message>, string>(
      async (keys) => {
        const groups = new Map<string, { page: PageRequest; ids: string[] }>();
        for (const k of keys) {
          const shape = pageShape(k.page);
          const group = groups.get(shape) ?? { page: k.page, ids: [] };
          group.ids.push(k.conversationId);
          groups.set(shape, group);
        }
        const results = new Map<string, Page<Message>>();
        await Promise.all(
          [...groups].map(async ([shape, group]) => {
            const pages = await chat.messagePages(group.ids, group.page);
            for (const [id, page] of pages) results.set(`${id}|${shape}`, page);
          }),
        );
        return keys.map(
          (k) =>
            results.get(`${k.conversationId}|${pageShape(k.page)}`) ?? { items: [], hasNextPage: false, totalCount: 0 },
        );
      },
      { batch, cacheKeyFn: (k) => `${k.conversationId}|${pageShape(k.page)}` },
    ),
  };
}

function pageShape(page: PageRequest): string {
  return `${page.first}|${page.after ? encodeCursor(page.after) : ''}`;
}

export type Loaders = ReturnType<typeof createLoaders>;
