import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import { BadUserInputError } from '../../domain/errors.js';
import { requireViewer } from '../../domain/viewer.js';
import { parseId } from '../args.js';
import type { GraphQLContext } from '../context.js';
import { MessageRole } from '../types/enums.js';
import { UploadImageInput, UploadImagePayload } from '../types/upload.js';
import { drainUnread, fileSource } from '../uploads.js';

@Resolver()
export class UploadResolver {
  @Mutation(() => UploadImagePayload, {
    description:
      'Store an image in one of your conversations: attached to `messageId`, or in a new message. Multipart requests need the `apollo-require-preflight: true` header.',
  })
  async uploadImage(
    @Arg('input', () => UploadImageInput, { description: 'The image, where it goes, and how long to wait.' })
    input: UploadImageInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    try {
      // Inside the try, not @CurrentViewer(): a refused caller's upload is still drained.
      const viewer = requireViewer(ctx.viewer);
      const hasFile = input.file != null;
      const hasBase64 = input.base64 != null;
      if (hasFile === hasBase64) {
        throw new BadUserInputError('Send exactly one of input.file (multipart) or input.base64.');
      }
      return await ctx.images.uploadImage(viewer, {
        source: input.file ? fileSource(input.file) : { kind: 'base64', data: input.base64 as string },
        conversationId: parseId('conversation', input.conversationId),
        messageId: input.messageId == null ? null : parseId('message', input.messageId),
        role: input.role ?? MessageRole.ASSISTANT,
        content: input.content ?? '',
        caption: input.caption?.trim() || null,
        generated: input.generated ?? false,
        waitForCloud: input.waitForCloud ?? true,
      });
    } finally {
      drainUnread([input.file]);
    }
  }
}
