import { Arg, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import { BadUserInputError, ForbiddenError } from '../../domain/errors.js';
import type { ImageRecord } from '../../domain/types.js';
import type { Viewer } from '../../domain/viewer.js';
import { idArgDescription, parseId } from '../args.js';
import type { GraphQLContext } from '../context.js';
import { CurrentViewer } from '../current-viewer.js';
import { RequeueLocalOnlyPayload } from '../types/maintenance.js';
import { Image } from '../types/objects.js';

@Resolver()
export class ReplicationResolver {
  @Mutation(() => Image, {
    description:
      'Admin only: put an image that gave up (LOCAL_ONLY) or is waiting (RETRYING) back in the replication queue, due now, with its attempts reset.',
  })
  async requeueImageReplication(
    @Arg('id', () => ID, {
      description: idArgDescription('image', 'An unknown one is NOT_FOUND.'),
    })
    id: string,
    @CurrentViewer() viewer: Viewer,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ImageRecord> {
    if (!viewer.isAdmin) throw new ForbiddenError('Only an admin may requeue replication.');
    const image = await ctx.chat.getImage(viewer, parseId('image', id));
    if (!ctx.replication)
      throw new BadUserInputError(
        'No cloud provider is enabled: set POSTIMAGES_API_KEY, IMGBB_API_KEY or S3_BUCKET (with s3 in CLOUD_PROVIDERS) first.',
      );
    if (image.replication.status === 'REPLICATED' || image.replication.status === 'PENDING') return image;
    return ctx.replication.requeue(image);
  }

  @Mutation(() => RequeueLocalOnlyPayload, {
    description:
      "Admin only: queue every LOCAL_ONLY image that still has its local original for replication (PENDING, attempts reset): those replication gave up on, and the seed chatbot's local-only images (cloud_url = url) read in place. Safe to run again.",
  })
  async requeueLocalOnlyImages(
    @Arg('dryRun', () => Boolean, { nullable: true, defaultValue: false, description: 'Count, change nothing.' })
    dryRun: boolean,
    @CurrentViewer() viewer: Viewer,
    @Ctx() ctx: GraphQLContext,
  ): Promise<RequeueLocalOnlyPayload> {
    if (!viewer.isAdmin) throw new ForbiddenError('Only an admin may requeue replication.');
    if (!ctx.replication)
      throw new BadUserInputError(
        'No cloud provider is enabled: set POSTIMAGES_API_KEY, IMGBB_API_KEY or S3_BUCKET (with s3 in CLOUD_PROVIDERS) first.',
      );
    return ctx.replication.requeueLocalOnly({ dryRun: dryRun ?? false });
  }
}
