import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Conversation as ConversationRecord } from '../../domain/types.js';
import { requireViewer } from '../../domain/viewer.js';
import { pageArgs, parseId, toConnection } from '../args.js';
import type { GraphQLContext } from '../context.js';
import { CreateConversationInput } from '../types/inputs.js';
import { Conversation, ConversationConnection, MessageConnection } from '../types/objects.js';

@Resolver(() => Conversation)
export class ConversationResolver {
  @Query(() => Conversation, {
    nullable: true,
    description: "One of your conversations (any, for an admin). Someone else's id is NOT_FOUND.",
  })
  async conversation(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<ConversationRecord> {
    return ctx.chat.getConversation(requireViewer(ctx.viewer), parseId('conversation', id));
  }

  @Query(() => ConversationConnection, {
    description: "Your conversations, most recently updated first (everyone's, for an admin).",
  })
  async conversations(
    @Arg('first', () => Int, { nullable: true, defaultValue: 20, description: '1 to 100 (default 20).' })
    first: number | null,
    @Arg('after', () => String, { nullable: true, description: 'endCursor of the previous page.' })
    after: string | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const viewer = requireViewer(ctx.viewer);
    const page = await ctx.chat.listConversations(viewer, pageArgs(first, after));
    return toConnection(page, (c) => c.updatedAt);
  }

  @Mutation(() => Conversation, { description: 'Start a conversation owned by the caller.' })
  async createConversation(
    @Arg('input', () => CreateConversationInput) input: CreateConversationInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.chat.createConversation(requireViewer(ctx.viewer), input);
  }

  @FieldResolver(() => Int, { description: 'How many images the messages of this conversation carry.' })
  imageCount(@Root() conversation: ConversationRecord, @Ctx() ctx: GraphQLContext): Promise<number> {
    return ctx.loaders.imageCount.load(conversation.id);
  }

  @FieldResolver(() => MessageConnection, { description: 'Messages, oldest first.' })
  async messages(
    @Root() conversation: ConversationRecord,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20, description: '1 to 100 (default 20).' })
    first: number | null,
    @Arg('after', () => String, { nullable: true, description: 'endCursor of the previous page.' })
    after: string | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const page = await ctx.loaders.messagePage.load({ conversationId: conversation.id, page: pageArgs(first, after) });
    return toConnection(page, (m) => m.createdAt);
  }
}
