import { GraphQLUpload, type FileUpload } from 'graphql-upload-minimal';
import { Field, ID, InputType, Int } from 'type-graphql';
import { MessageRole, StorageService } from './enums.js';

@InputType({ description: 'Narrows `images`; every field is optional and they combine with AND.' })
export class ImageFilter {
  @Field(() => ID, { nullable: true })
  conversationId?: string | null;

  @Field(() => Boolean, { nullable: true })
  generated?: boolean | null;

  @Field(() => StorageService, { nullable: true })
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
  @Field(() => ID)
  conversationId!: string;

  @Field(() => MessageRole)
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
