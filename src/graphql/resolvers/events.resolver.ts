import { Arg, ID, Resolver, Root, Subscription } from 'type-graphql';
import { isDomainError } from '../../domain/errors.js';
import type { Message as MessageRecord } from '../../domain/types.js';
import { requireViewer, type Viewer } from '../../domain/viewer.js';
import type { Change } from '../../metadata/change-log.js';
import { parseId } from '../args.js';
import type { GraphQLContext } from '../context.js';
import { ImageEvent, ImageEventKind, type ImageEventPayload } from '../types/events.js';
import { Message } from '../types/objects.js';

const CONVERSATION_ID =
  "One of your conversations (any, for an admin): 24 hex characters. Someone else's or an unknown one is NOT_FOUND, a malformed one BAD_USER_INPUT, delivered as the only result.";

/**
 * Live updates over WebSocket (src/http/subscriptions.ts). Each subscription checks, when it
 * starts, that the conversation is the viewer's (NOT_FOUND otherwise, as everywhere), then
 * follows the process's change feed (src/events/feed.ts) for that conversation. The record an
 * event carries is read when it is delivered, so it is never older than the event.
 */
@Resolver()
export class EventsResolver {
  @Subscription(() => ImageEvent, {
    description: 'Images of one of your conversations: added, replication status changed, deleted.',
    subscribe: ({ args, context }) =>
      imageEvents(context as GraphQLContext, String((args as { conversationId: unknown }).conversationId)),
  })
  imageEvents(
    @Root() event: ImageEventPayload,
    @Arg('conversationId', () => ID, { description: CONVERSATION_ID }) _conversationId: string,
  ): ImageEventPayload {
    return event;
  }

  @Subscription(() => Message, {
    description: 'Messages added to one of your conversations.',
    subscribe: ({ args, context }) =>
      messagesAdded(context as GraphQLContext, String((args as { conversationId: unknown }).conversationId)),
  })
  messageAdded(
    @Root() message: MessageRecord,
    @Arg('conversationId', () => ID, { description: CONVERSATION_ID }) _conversationId: string,
  ): MessageRecord {
    return message;
  }
}

const KINDS: Partial<Record<Change['kind'], ImageEventKind>> = {
  IMAGE_ADDED: ImageEventKind.ADDED,
  IMAGE_CHANGED: ImageEventKind.REPLICATION_CHANGED,
  IMAGE_DELETED: ImageEventKind.DELETED,
};

async function follow(
  ctx: GraphQLContext,
  conversationId: string,
): Promise<{ viewer: Viewer; changes: AsyncIterableIterator<Change> }> {
  const viewer = requireViewer(ctx.viewer);
  await ctx.chat.getConversation(viewer, parseId('conversation', conversationId));
  return { viewer, changes: ctx.feed.subscribe(conversationId) };
}

async function imageEvents(
  ctx: GraphQLContext,
  conversationId: string,
): Promise<AsyncIterableIterator<ImageEventPayload>> {
  const { viewer, changes } = await follow(ctx, conversationId);
  return mapChanges(changes, async (change) => {
    const kind = change.imageId ? KINDS[change.kind] : undefined;
    if (!kind || !change.imageId) return null;
    const image = kind === ImageEventKind.DELETED ? null : await orNull(ctx.chat.getImage(viewer, change.imageId));
    return { kind, imageId: change.imageId, image };
  });
}

async function messagesAdded(
  ctx: GraphQLContext,
  conversationId: string,
): Promise<AsyncIterableIterator<MessageRecord>> {
  const { viewer, changes } = await follow(ctx, conversationId);
  // A message deleted before its event is delivered is skipped.
  return mapChanges(changes, async (change) =>
    change.kind === 'MESSAGE_ADDED' ? orNull(ctx.chat.getMessage(viewer, change.messageId)) : null,
  );
}

/** The record, or null when it is gone (NOT_FOUND) by the time the event is delivered. */
async function orNull<T>(read: Promise<T>): Promise<T | null> {
  try {
    return await read;
  } catch (e) {
    if (isDomainError(e) && e.code === 'NOT_FOUND') return null;
    throw e;
  }
}

/**
 * Maps changes to payloads, skipping those `fn` maps to null. Written by hand rather than as an
 * async generator: a generator's return() waits for the pending next(), so an unsubscribed
 * client would stay registered until its conversation's next change; this one ends the source
 * at once.
 */
function mapChanges<T>(
  source: AsyncIterableIterator<Change>,
  fn: (change: Change) => Promise<T | null>,
): AsyncIterableIterator<T> {
  const iterator: AsyncIterableIterator<T> = {
    async next() {
      for (;;) {
        const r = await source.next();
        if (r.done) return { value: undefined, done: true };
        const value = await fn(r.value);
        if (value !== null) return { value, done: false };
      }
    },
    async return() {
      await source.return?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
