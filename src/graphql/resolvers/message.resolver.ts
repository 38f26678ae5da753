import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { NotFoundError } from '../../domain/errors.js';
import type { ImageRecord, Message as MessageRecord } from '../../domain/types.js';
import { requireViewer, type Viewer } from '../../domain/viewer.js';
import { idArgDescription, parseId } from '../args.js';
import { drainUnread, fileSource } from '../uploads.js';
import type { GraphQLContext } from '../context.js';
import { CurrentViewer } from '../current-viewer.js';
import { PostMessageInput } from '../types/inputs.js';
import { Conversation, Image, Message } from '../types/objects.js';

@Resolver(() => Message)
export class MessageResolver {
  @Query(() => Message, {
    nullable: true,
    description: "One of your messages (any, for an admin). Someone else's id is NOT_FOUND.",
  })
  async message(
    @Arg('id', () => ID, { description: idArgDescription('message') })
    id: string,
    @CurrentViewer() viewer: Viewer,
    @Ctx() ctx: GraphQLContext,
  ): Promise<MessageRecord> {
    return ctx.chat.getMessage(viewer, parseId('message', id));
  }

  @Mutation(() => Message, { description: 'Add a message to one of your conversations.' })
  async postMessage(
    @Arg('input', () => PostMessageInput, { description: 'The message, and its optional attachments.' })
    input: PostMessageInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<MessageRecord> {
    try {
      // Inside the try, not @CurrentViewer(): a refused caller's uploads are still drained.
      const viewer = requireViewer(ctx.viewer);
      const conversationId = parseId('conversation', input.conversationId);
      if (!input.images?.length)
        return await ctx.chat.postMessage(viewer, { conversationId, role: input.role, content: input.content });
      return await ctx.images.postMessageWithImages(viewer, {
        conversationId,
        role: input.role,
        content: input.content,
        generated: input.generated ?? false,
        sources: input.images.map(fileSource),
      });
    } finally {
      drainUnread(input.images ?? []);
    }
  }

  @FieldResolver(() => Conversation, { description: 'The conversation the message belongs to.' })
  async conversation(@Root() message: MessageRecord, @Ctx() ctx: GraphQLContext) {
    const conversation = await ctx.loaders.conversation.load(message.conversationId);
    if (!conversation) throw new NotFoundError('Conversation', message.conversationId);
    return conversation;
  }

  @FieldResolver(() => [Image], { description: 'Images of this message, in the order they were added.' })
  images(@Root() message: MessageRecord): ImageRecord[] {
    return message.images;
  }
}
