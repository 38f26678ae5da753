import { GraphQLUpload, type FileUpload } from 'graphql-upload-minimal';
import { Field, ID, InputType, Int } from 'type-graphql';
import { MessageRole, StorageService } from './enums.js';

@InputType({ description: 'Narrows `images`; every field is optional and they combine with AND.' })
export class ImageFilter {
  @Field(() => ID, {
    nullable: true,
    description:
      "Only images of this conversation, which must be yours (any, for an admin); someone else's is NOT_FOUND.",
  })
  conversationId?: string | null;

  @Field(() => Boolean, {
    nullable: true,
    description: 'true: only AI-generated images; false: only images uploaded by a user.',
  })
  generated?: boolean | null;

  @Field(() => StorageService, {
    nullable: true,
    description: 'Only images whose cloud copy this service holds (LOCAL: those no provider holds).',
  })
  service?: StorageService | null;

  @Field(() => Int, { nullable: true, description: 'Bytes, inclusive.' })
  minSize?: number | null;

  @Field(() => Int, { nullable: true, description: 'Bytes, inclusive.' })
  maxSize?: number | null;

  @Field(() => Date, { nullable: true, description: 'Inclusive.' })
  uploadedAfter?: Date | null;

  @Field(() => Date, { nullable: true, description: 'Exclusive.' })
  uploadedBefore?: Date | null;
}

@InputType({ description: 'A new conversation.' })
export class CreateConversationInput {
  @Field(() => String, { nullable: true, description: 'Optional title, at most 500 characters.' })
  title?: string | null;
}

@InputType({ description: 'A new message in one of your conversations.' })
export class PostMessageInput {
  @Field(() => ID, {
    description:
      "The conversation to add it to: one of yours (any, for an admin; the message then belongs to its owner). Someone else's id is NOT_FOUND.",
  })
  conversationId!: string;

  @Field(() => MessageRole, { description: 'Who wrote the message.' })
  role!: MessageRole;

  @Field(() => String, { description: 'Text of the message, at most 100,000 characters.' })
  content!: string;

  @Field(() => [GraphQLUpload], {
    nullable: true,
    description: 'Optional attachments (multipart), processed like uploadImage; at most MAX_FILES.',
  })
  images?: Promise<FileUpload>[] | null;

  @Field(() => Boolean, {
    nullable: true,
    defaultValue: false,
    description: 'Whether the attached images are AI-generated.',
  })
  generated?: boolean | null;
}
