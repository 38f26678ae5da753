import { GraphQLUpload, type FileUpload } from 'graphql-upload-minimal';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { MessageRole } from './enums.js';
import { Image, Message } from './objects.js';

export { GraphQLUpload, type FileUpload };

@InputType({ description: 'An image to store: send exactly one of `file` (multipart) or `base64`.' })
export class UploadImageInput {
  @Field(() => GraphQLUpload, {
    nullable: true,
    description: 'The image as a multipart file (GraphQL multipart request spec).',
  })
  file?: Promise<FileUpload> | null;

  @Field(() => String, {
    nullable: true,
    description: 'The image as raw base64 or a data: URI, for callers that cannot send multipart.',
  })
  base64?: string | null;

  @Field(() => ID, {
    description:
      "The conversation to store the image in: one of yours (any, for an admin; the image then belongs to its owner). Someone else's id is NOT_FOUND.",
  })
  conversationId!: string;

  @Field(() => ID, {
    nullable: true,
    description: 'Attach to this message of the conversation; when absent a new message is created.',
  })
  messageId?: string | null;

  @Field(() => MessageRole, {
    nullable: true,
    defaultValue: MessageRole.ASSISTANT,
    description: 'Role of the new message.',
  })
  role?: MessageRole | null;

  @Field(() => String, { nullable: true, defaultValue: '', description: 'Content of the new message.' })
  content?: string | null;

  @Field(() => String, { nullable: true, description: 'At most 2,000 characters.' })
  caption?: string | null;

  @Field(() => Boolean, {
    nullable: true,
    defaultValue: false,
    description: 'AI-generated (true) or uploaded by a user (false).',
  })
  generated?: boolean | null;

  @Field(() => Boolean, {
    nullable: true,
    defaultValue: true,
    description:
      'true: return after the provider chain finished (or its deadline); false: return right after the local save and replicate in the background.',
  })
  waitForCloud?: boolean | null;
}

@ObjectType({ description: 'The stored image and the message that carries it.' })
export class UploadImagePayload {
  @Field(() => Image, { description: 'The stored image, as it is when the mutation answers (see waitForCloud).' })
  image!: Image;

  @Field(() => Message, { description: 'The message that carries it: the one `messageId` named, or the new one.' })
  message!: Message;
}
