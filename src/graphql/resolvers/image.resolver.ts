import { Arg, Args, Ctx, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import { NotFoundError } from '../../domain/errors.js';
import { thumbnailEvicted, type ImageRecord, type Message as MessageRecord } from '../../domain/types.js';
import type { Viewer } from '../../domain/viewer.js';
import { idArgDescription, pageArgs, parseId, toConnection } from '../args.js';
import type { GraphQLContext } from '../context.js';
import { CurrentViewer } from '../current-viewer.js';
import { ReplicationStatus } from '../types/enums.js';
import { ImageFilter } from '../types/inputs.js';
import { Image, ImageConnection, Message, StorageStats } from '../types/objects.js';
import { PageArgs } from '../types/pagination.js';

@Resolver(() => Image)
export class ImageResolver {
  @Query(() => Image, {
    nullable: true,
    description: "One of your images (any, for an admin). Someone else's id is NOT_FOUND.",
  })
  async image(
    @Arg('id', () => ID, { description: idArgDescription('image') }) id: string,
    @CurrentViewer() viewer: Viewer,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ImageRecord> {
    return ctx.chat.getImage(viewer, parseId('image', id));
  }

  @Query(() => ImageConnection, {
    description: "Your images, newest first (everyone's, for an admin), optionally filtered.",
  })
  async images(
    @Arg('filter', () => ImageFilter, { nullable: true, description: 'Optional; absent: every image you may see.' })
    filter: ImageFilter | null,
    @Args(() => PageArgs) page: PageArgs,
    @CurrentViewer() viewer: Viewer,
    @Ctx() ctx: GraphQLContext,
  ) {
    const f = { ...filter };
    if (f.conversationId) f.conversationId = parseId('conversation', f.conversationId);
    const images = await ctx.chat.listImages(viewer, f, pageArgs(page));
    return toConnection(images, (i) => i.uploadedAt);
  }

  @Query(() => StorageStats, { description: 'Counts and bytes of the images you may see.' })
  storageStats(@CurrentViewer() viewer: Viewer, @Ctx() ctx: GraphQLContext) {
    return ctx.chat.storageStats(viewer);
  }

  @FieldResolver(() => ReplicationStatus, { description: 'Progress of the cloud copy.' })
  replicationStatus(@Root() image: ImageRecord): ReplicationStatus {
    return image.replication.status;
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: "Signed, expiring URL of this server's copy; null when no local copy is kept.",
  })
  localUrl(@Root() image: ImageRecord, @Ctx() ctx: GraphQLContext): string | null {
    return image.localKey ? ctx.urls.url(image.localKey) : null;
  }

  @FieldResolver(() => String, {
    nullable: true,
    description:
      "Signed, expiring URL of the local thumbnail (WebP; an adopted seed thumbnail keeps its format). Once cleanupLocalImages evicted it with its original (only where the provider keeps thumbnails too: s3), the URL of the thumbnail's cloud copy.",
  })
  async thumbnailUrl(@Root() image: ImageRecord, @Ctx() ctx: GraphQLContext): Promise<string | null> {
    if (image.thumbnailCloudUrl && thumbnailEvicted(image)) return ctx.cloudLink(image.thumbnailCloudUrl);
    return image.thumbnailKey ? ctx.urls.url(image.thumbnailKey) : null;
  }

  @FieldResolver(() => String, {
    nullable: true,
    description:
      'URL of the cloud copy (for a private S3 bucket a presigned, expiring one, made at each read); null while no provider holds one.',
  })
  async cloudUrl(@Root() image: ImageRecord, @Ctx() ctx: GraphQLContext): Promise<string | null> {
    return image.cloudUrl ? ctx.cloudLink(image.cloudUrl) : null;
  }

  @FieldResolver(() => String, {
    description: 'What an <img src> should use: the cloud URL once replicated, else the local URL.',
  })
  async displayUrl(@Root() image: ImageRecord, @Ctx() ctx: GraphQLContext): Promise<string> {
    const [primary] = await urlsInOrder(image, ctx);
    return primary ?? '';
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: 'The other copy, for <img onerror>; null when there is none.',
  })
  async fallbackUrl(@Root() image: ImageRecord, @Ctx() ctx: GraphQLContext): Promise<string | null> {
    return (await urlsInOrder(image, ctx))[1] ?? null;
  }

  @FieldResolver(() => Message, { description: 'The message that carries the image.' })
  async message(@Root() image: ImageRecord, @Ctx() ctx: GraphQLContext): Promise<MessageRecord> {
    const message = await ctx.loaders.message.load(image.messageId);
    if (!message) throw new NotFoundError('Message', image.messageId);
    return message;
  }
}

/** Cloud first once a provider holds the image (it is public and CDN-served), local otherwise. */
async function urlsInOrder(image: ImageRecord, ctx: GraphQLContext): Promise<string[]> {
  const local = image.localKey ? ctx.urls.url(image.localKey) : null;
  const cloud =
    image.replication.status === 'REPLICATED' && image.cloudUrl ? await ctx.cloudLink(image.cloudUrl) : null;
  return [cloud, local].filter((u): u is string => u !== null);
}
