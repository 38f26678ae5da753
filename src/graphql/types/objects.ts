import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { MessageRole, StorageService } from './enums.js';
import { connectionTypes } from './pagination.js';

// Object types whose plain fields map one-to-one onto the domain records. Relations and
// computed fields (urls, counts, pages) are @FieldResolver methods in ../resolvers/.

@ObjectType({ description: 'A chat between one user and the assistant. Owned by the user who created it.' })
export class Conversation {
  @Field(() => ID, { description: 'Id of the conversation: 24 lowercase hex characters.' })
  id!: string;

  @Field(() => String, { nullable: true, description: 'Optional title, at most 500 characters.' })
  title!: string | null;

  @Field(() => Date, { description: 'When the conversation was created.' })
  createdAt!: Date;

  @Field(() => Date, { description: 'When the conversation was created or last received a message.' })
  updatedAt!: Date;
}

@ObjectType({ description: 'One message of a conversation, with the images it carries.' })
export class Message {
  @Field(() => ID, { description: 'Id of the message: 24 lowercase hex characters.' })
  id!: string;

  @Field(() => ID, { description: 'The conversation the message belongs to.' })
  conversationId!: string;

  @Field(() => MessageRole, { description: 'Who wrote the message.' })
  role!: MessageRole;

  @Field(() => String, { description: 'Text of the message; may be empty when the message only carries images.' })
  content!: string;

  @Field(() => Date, { description: 'When the message was stored.' })
  createdAt!: Date;
}

@ObjectType({
  description:
    'An image kept twice: on this server and at a cloud host. Show `displayUrl` and fall back to `fallbackUrl` when it fails to load.',
})
export class Image {
  @Field(() => ID, { description: 'Id of the image: 24 lowercase hex characters.' })
  id!: string;

  @Field(() => ID, { description: 'The message that carries the image.' })
  messageId!: string;

  @Field(() => ID, { description: 'The conversation of that message.' })
  conversationId!: string;

  @Field(() => String, { nullable: true, description: 'Optional caption, at most 2,000 characters; null when none.' })
  caption!: string | null;

  @Field(() => String, { description: 'Mime type of the stored file, detected from its bytes.' })
  mimeType!: string;

  @Field(() => Int, { description: 'Bytes of the stored file.' })
  size!: number;

  @Field(() => Int, { description: 'Width in pixels, after EXIF orientation.' })
  width!: number;

  @Field(() => Int, { description: 'Height in pixels, after EXIF orientation.' })
  height!: number;

  @Field(() => Boolean, { description: 'AI-generated (true) or uploaded by a user (false).' })
  generated!: boolean;

  @Field(() => String, { description: 'Hex SHA-256 digest of the stored file.' })
  sha256!: string;

  @Field(() => StorageService, { description: 'Which provider holds the cloud copy; LOCAL while none does.' })
  service!: StorageService;

  @Field(() => String, { nullable: true, description: 'Tiny data URI to show, blurred, while the image loads.' })
  placeholder!: string | null;

  @Field(() => Date, { description: 'When the image was stored.' })
  uploadedAt!: Date;

  @Field(() => Date, {
    nullable: true,
    description:
      'When a check (cleanupLocalImages, or a restore) found the cloud copy holding other bytes than `sha256`: changed at the host (PostImages may re-encode what it stores). The image is then replicated again from its local original, another provider first, and this goes back to null; it stays set when no local original matches.',
  })
  cloudAlteredAt!: Date | null;
}

export const { Edge: ConversationEdge, Connection: ConversationConnection } = connectionTypes(
  'Conversation',
  Conversation,
  'conversation',
);
export const { Edge: MessageEdge, Connection: MessageConnection } = connectionTypes('Message', Message, 'message');
export const { Edge: ImageEdge, Connection: ImageConnection } = connectionTypes('Image', Image, 'image');

@ObjectType({ description: 'Images and bytes held by one storage service.' })
export class ServiceStats {
  @Field(() => StorageService, { description: 'The service.' })
  service!: StorageService;

  @Field(() => Int, { description: 'Images whose cloud copy it holds (LOCAL: images no provider holds).' })
  count!: number;

  @Field(() => Float, { description: 'Bytes (a Float, as totals can pass 2^31).' })
  bytes!: number;
}

@ObjectType({ description: "Totals over the images the caller may see (an admin: everyone's)." })
export class StorageStats {
  @Field(() => Int, { description: 'Images stored.' })
  imageCount!: number;

  @Field(() => Float, { description: 'Bytes of every stored image.' })
  totalBytes!: number;

  @Field(() => Float, { description: 'Bytes of the local copies this server keeps.' })
  localBytes!: number;

  @Field(() => [ServiceStats], {
    description: 'One entry per service holding at least one of the images, in StorageService order.',
  })
  byService!: ServiceStats[];

  @Field(() => Int, { description: 'Images not yet held by a cloud provider (PENDING or RETRYING).' })
  pendingReplication!: number;
}
