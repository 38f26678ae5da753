import { Arg, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import type { Viewer } from '../../domain/viewer.js';
import type { CleanupResult } from '../../maintenance/cleanup.js';
import type { DeleteResult } from '../../services/deletion.js';
import type { RestoreResult } from '../../maintenance/restore.js';
import { idArgDescription, parseId } from '../args.js';
import type { GraphQLContext } from '../context.js';
import { CurrentViewer } from '../current-viewer.js';
import {
  CleanupInput,
  CleanupPayload,
  DeleteImagePayload,
  RestoreImagesInput,
  RestoreImagesPayload,
} from '../types/maintenance.js';

@Resolver()
export class MaintenanceResolver {
  @Mutation(() => DeleteImagePayload, {
    description:
      'Delete one of your images everywhere: cloud copy (where the provider allows), local original, thumbnail and record. Admins may delete any image.',
  })
  async deleteImage(
    @Arg('id', () => ID, {
      description: idArgDescription('image', "Someone else's, or one already deleted, is NOT_FOUND."),
    })
    id: string,
    @CurrentViewer() viewer: Viewer,
    @Ctx() ctx: GraphQLContext,
  ): Promise<DeleteResult> {
    return ctx.deletion.deleteImage(viewer, parseId('image', id));
  }

  @Mutation(() => RestoreImagesPayload, {
    description:
      'Bring local copies back from the cloud: each image whose local file is missing or does not match its sha256 is downloaded, verified and written; missing thumbnails are made again. Safe to run again.',
  })
  async restoreImages(
    @Arg('input', () => RestoreImagesInput, {
      nullable: true,
      description:
        'Which images to look at, and whether to change anything; absent: every image you may restore, not a dry run.',
    })
    input: RestoreImagesInput | null,
    @CurrentViewer() viewer: Viewer,
    @Ctx() ctx: GraphQLContext,
  ): Promise<RestoreResult> {
    return ctx.restore.restore(viewer, {
      conversationId: input?.conversationId == null ? null : parseId('conversation', input.conversationId),
      imageIds: input?.imageIds?.map((id) => parseId('image', id)) ?? null,
      dryRun: input?.dryRun ?? false,
    });
  }

  @Mutation(() => CleanupPayload, {
    description:
      'Admin only: remove local originals older than `olderThanDays` whose cloud copy holds them; thumbnails stay. Their /files links then redirect to the cloud copy.',
  })
  async cleanupLocalImages(
    @Arg('input', () => CleanupInput, {
      description: 'How old a local original must be, and whether to change anything.',
    })
    input: CleanupInput,
    @CurrentViewer() viewer: Viewer,
    @Ctx() ctx: GraphQLContext,
  ): Promise<CleanupResult> {
    return ctx.cleanup.cleanup(viewer, { olderThanDays: input.olderThanDays, dryRun: input.dryRun ?? false });
  }
}
