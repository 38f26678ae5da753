import { Arg, Args, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Conversation as ConversationRecord } from '../../domain/types.js';
import type { Viewer } from '../../domain/viewer.js';
import { idArgDescription, pageArgs, parseId, toConnection } from '../args.js';
import type { GraphQLContext } from '../context.js';
import { CurrentViewer } from '../current-viewer.js';
import { CreateConversationInput } from '../types/inputs.js';
import { Conversation, ConversationConnection, MessageConnection } from '../types/objects.js';
import { PageArgs } from '../types/pagination.js';

@Resolver(() => Conversation)
export class ConversationResolver {
  @Query(() => Conversation, {
    nullable: true,
    description: "One of your conversations (any, for an admin). Someone else's id is NOT_FOUND.",
  })
  async conversation(
    @Arg('id', () => ID, { description: idArgDescription('conversation') })
    id: string,
    @CurrentViewer() viewer: Viewer,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ConversationRecord> {
    return ctx.chat.getConversation(viewer, parseId('conversation', id));
  }

  @Query(() => ConversationConnection, {
    description: "Your conversations, most recently updated first (everyone's, for an admin).",
  })
  async conversations(
    @Args(() => PageArgs) page: PageArgs,
    @CurrentViewer() viewer: Viewer,
    @Ctx() ctx: GraphQLContext,
  ) {
    const conversations = await ctx.chat.listConversations(viewer, pageArgs(page));
    return toConnection(conversations, (c) => c.updatedAt);
  }

  @Mutation(() => Conversation, { description: 'Start a conversation owned by the caller.' })
  async createConversation(
    @Arg('input', () => CreateConversationInput, { description: 'Its optional title.' })
    input: CreateConversationInput,
    @CurrentViewer() viewer: Viewer,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.chat.createConversation(viewer, input);
  }

  @FieldResolver(() => Int, { description: 'How many images the messages of this conversation carry.' })
  imageCount(@Root() conversation: ConversationRecord, @Ctx() ctx: GraphQLContext): Promise<number> {
    return ctx.loaders.imageCount.load(conversation.id);
  }

  @FieldResolver(() => MessageConnection, { description: 'Messages, oldest first.' })
  async messages(
    @Root() conversation: ConversationRecord,
    @Args(() => PageArgs) page: PageArgs,
    @Ctx() ctx: GraphQLContext,
  ) {
    const messages = await ctx.loaders.messagePage.load({ conversationId: conversation.id, page: pageArgs(page) });
    return toConnection(messages, (m) => m.createdAt);
  }
}
