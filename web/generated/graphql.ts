import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
export type MakeOptional<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]?: Maybe<T[SubKey]> };
export type MakeMaybe<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]: Maybe<T[SubKey]> };
export type MakeEmpty<T extends { [key: string]: unknown }, K extends keyof T> = { [_ in K]?: never };
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** A date-time string at UTC, such as 2007-12-03T10:15:30Z, compliant with the `date-time` format outlined in section 5.6 of the RFC 3339 profile of the ISO 8601 standard for representation of dates and times using the Gregorian calendar. */
  DateTime: { input: string; output: string; }
  /** The `Upload` scalar type represents a file upload. */
  Upload: { input: unknown; output: unknown; }
};

/** Which local originals cleanupLocalImages may remove. */
export type CleanupInput = {
  /** Count what would be removed, change nothing. */
  dryRun?: InputMaybe<Scalars['Boolean']['input']>;
  /** Remove local originals uploaded more than this many days ago: 0 to 36,500. */
  olderThanDays: Scalars['Int']['input'];
};

/** A new conversation. */
export type CreateConversationInput = {
  /** Optional title, at most 500 characters. */
  title?: InputMaybe<Scalars['String']['input']>;
};

/** What happened to an image of a conversation. */
export type ImageEventKind =
  /** It was uploaded or generated, to a new message or an existing one. */
  | 'ADDED'
  /** It was deleted: `image` is null, and its URLs stop working. */
  | 'DELETED'
  /** Its record changed after it was added: its replication status (a cloud copy landed: REPLICATED; a retry; LOCAL_ONLY), its cloud URL, or its local copy. */
  | 'REPLICATION_CHANGED';

/** Narrows `images`; every field is optional and they combine with AND. */
export type ImageFilter = {
  /** Only images of this conversation, which must be yours (any, for an admin); someone else's is NOT_FOUND. */
  conversationId?: InputMaybe<Scalars['ID']['input']>;
  /** true: only AI-generated images; false: only images uploaded by a user. */
  generated?: InputMaybe<Scalars['Boolean']['input']>;
  /** Bytes, inclusive. */
  maxSize?: InputMaybe<Scalars['Int']['input']>;
  /** Bytes, inclusive. */
  minSize?: InputMaybe<Scalars['Int']['input']>;
  /** Only images whose cloud copy this service holds (LOCAL: those no provider holds). */
  service?: InputMaybe<StorageService>;
  /** Inclusive. */
  uploadedAfter?: InputMaybe<Scalars['DateTime']['input']>;
  /** Exclusive. */
  uploadedBefore?: InputMaybe<Scalars['DateTime']['input']>;
};

/** Who wrote a message. */
export type MessageRole =
  /** The chatbot or an AI model. */
  | 'ASSISTANT'
  /** Instructions or notices from the application. */
  | 'SYSTEM'
  /** The person chatting. */
  | 'USER';

/** A new message in one of your conversations. */
export type PostMessageInput = {
  /** Text of the message, at most 100,000 characters. */
  content: Scalars['String']['input'];
  /** The conversation to add it to: one of yours (any, for an admin; the message then belongs to its owner). Someone else's id is NOT_FOUND. */
  conversationId: Scalars['ID']['input'];
  /** Whether the attached images are AI-generated. */
  generated?: InputMaybe<Scalars['Boolean']['input']>;
  /** Optional attachments (multipart), processed like uploadImage; at most MAX_FILES. */
  images?: InputMaybe<Array<Scalars['Upload']['input']>>;
  /** Who wrote the message. */
  role: MessageRole;
};

/** Progress of the cloud copy of an image. */
export type ReplicationStatus =
  /** Cloud replication is disabled or gave up after the configured attempts. */
  | 'LOCAL_ONLY'
  /** Stored locally; the cloud upload was not attempted yet or is in progress. */
  | 'PENDING'
  /** A provider holds a copy; cloudUrl is set. */
  | 'REPLICATED'
  /** Every provider failed; a durable retry is scheduled. */
  | 'RETRYING';

/** Which images restoreImages looks at. Without a scope: every image of yours (an admin: every image). */
export type RestoreImagesInput = {
  /** Restrict to one conversation. */
  conversationId?: InputMaybe<Scalars['ID']['input']>;
  /** Count what would be restored, change nothing. */
  dryRun?: InputMaybe<Scalars['Boolean']['input']>;
  /** Restrict to these images (at most 1,000). */
  imageIds?: InputMaybe<Array<Scalars['ID']['input']>>;
};

/** Where the cloud copy of an image lives. LOCAL: no cloud provider holds it (yet). */
export type StorageService =
  /** ImgBB (ibb.co). */
  | 'IMGBB'
  /** Only this server holds the image. */
  | 'LOCAL'
  /** PostImages (postimg.cc). */
  | 'POSTIMAGES'
  /** An S3-compatible bucket (AWS S3, Cloudflare R2, Backblaze B2, MinIO, Ceph). */
  | 'S3';

/** An image to store: send exactly one of `file` (multipart) or `base64`. */
export type UploadImageInput = {
  /** The image as raw base64 or a data: URI, for callers that cannot send multipart. */
  base64?: InputMaybe<Scalars['String']['input']>;
  /** At most 2,000 characters. */
  caption?: InputMaybe<Scalars['String']['input']>;
  /** Content of the new message. */
  content?: InputMaybe<Scalars['String']['input']>;
  /** The conversation to store the image in: one of yours (any, for an admin; the image then belongs to its owner). Someone else's id is NOT_FOUND. */
  conversationId: Scalars['ID']['input'];
  /** The image as a multipart file (GraphQL multipart request spec). */
  file?: InputMaybe<Scalars['Upload']['input']>;
  /** AI-generated (true) or uploaded by a user (false). */
  generated?: InputMaybe<Scalars['Boolean']['input']>;
  /** Attach to this message of the conversation; when absent a new message is created. */
  messageId?: InputMaybe<Scalars['ID']['input']>;
  /** Role of the new message. */
  role?: InputMaybe<MessageRole>;
  /** true: return after the provider chain finished (or its deadline); false: return right after the local save and replicate in the background. */
  waitForCloud?: InputMaybe<Scalars['Boolean']['input']>;
};

export type DemoConversationsQueryVariables = Exact<{ [key: string]: never; }>;


export type DemoConversationsQuery = { __typename?: 'Query', conversations: { __typename?: 'ConversationConnection', edges: Array<{ __typename?: 'ConversationEdge', node: { __typename?: 'Conversation', id: string, title?: string | null, imageCount: number, updatedAt: string } }> } };

export type DemoCreateConversationMutationVariables = Exact<{
  title?: InputMaybe<Scalars['String']['input']>;
}>;


export type DemoCreateConversationMutation = { __typename?: 'Mutation', createConversation: { __typename?: 'Conversation', id: string, title?: string | null, imageCount: number, updatedAt: string } };

export type DemoConversationMessagesQueryVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type DemoConversationMessagesQuery = { __typename?: 'Query', conversation?: { __typename?: 'Conversation', id: string, title?: string | null, messages: { __typename?: 'MessageConnection', edges: Array<{ __typename?: 'MessageEdge', node: { __typename?: 'Message', id: string, role: MessageRole, content: string, createdAt: string, images: Array<{ __typename?: 'Image', id: string, messageId: string, caption?: string | null, width: number, height: number, mimeType: string, service: StorageService, replicationStatus: ReplicationStatus, displayUrl: string, fallbackUrl?: string | null, thumbnailUrl?: string | null, placeholder?: string | null }> } }> } } | null };

export type DemoMessageQueryVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type DemoMessageQuery = { __typename?: 'Query', message?: { __typename?: 'Message', id: string, role: MessageRole, content: string, createdAt: string, images: Array<{ __typename?: 'Image', id: string, messageId: string, caption?: string | null, width: number, height: number, mimeType: string, service: StorageService, replicationStatus: ReplicationStatus, displayUrl: string, fallbackUrl?: string | null, thumbnailUrl?: string | null, placeholder?: string | null }> } | null };

export type DemoPostMessageMutationVariables = Exact<{
  conversationId: Scalars['ID']['input'];
  content: Scalars['String']['input'];
}>;


export type DemoPostMessageMutation = { __typename?: 'Mutation', postMessage: { __typename?: 'Message', id: string, role: MessageRole, content: string, createdAt: string, images: Array<{ __typename?: 'Image', id: string, messageId: string, caption?: string | null, width: number, height: number, mimeType: string, service: StorageService, replicationStatus: ReplicationStatus, displayUrl: string, fallbackUrl?: string | null, thumbnailUrl?: string | null, placeholder?: string | null }> } };

export type DemoUploadMutationVariables = Exact<{
  file: Scalars['Upload']['input'];
  conversationId: Scalars['ID']['input'];
  content?: InputMaybe<Scalars['String']['input']>;
  caption?: InputMaybe<Scalars['String']['input']>;
}>;


export type DemoUploadMutation = { __typename?: 'Mutation', uploadImage: { __typename?: 'UploadImagePayload', image: { __typename?: 'Image', id: string, messageId: string, caption?: string | null, width: number, height: number, mimeType: string, service: StorageService, replicationStatus: ReplicationStatus, displayUrl: string, fallbackUrl?: string | null, thumbnailUrl?: string | null, placeholder?: string | null }, message: { __typename?: 'Message', id: string, role: MessageRole, content: string, createdAt: string, images: Array<{ __typename?: 'Image', id: string, messageId: string, caption?: string | null, width: number, height: number, mimeType: string, service: StorageService, replicationStatus: ReplicationStatus, displayUrl: string, fallbackUrl?: string | null, thumbnailUrl?: string | null, placeholder?: string | null }> } } };

export type DemoDeleteImageMutationVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type DemoDeleteImageMutation = { __typename?: 'Mutation', deleteImage: { __typename?: 'DeleteImagePayload', deletedImageId: string } };

export type DemoImageEventsSubscriptionVariables = Exact<{
  conversationId: Scalars['ID']['input'];
}>;


export type DemoImageEventsSubscription = { __typename?: 'Subscription', imageEvents: { __typename?: 'ImageEvent', kind: ImageEventKind, imageId: string, image?: { __typename?: 'Image', id: string, messageId: string, caption?: string | null, width: number, height: number, mimeType: string, service: StorageService, replicationStatus: ReplicationStatus, displayUrl: string, fallbackUrl?: string | null, thumbnailUrl?: string | null, placeholder?: string | null } | null } };

export type DemoMessageAddedSubscriptionVariables = Exact<{
  conversationId: Scalars['ID']['input'];
}>;


export type DemoMessageAddedSubscription = { __typename?: 'Subscription', messageAdded: { __typename?: 'Message', id: string, role: MessageRole, content: string, createdAt: string, images: Array<{ __typename?: 'Image', id: string, messageId: string, caption?: string | null, width: number, height: number, mimeType: string, service: StorageService, replicationStatus: ReplicationStatus, displayUrl: string, fallbackUrl?: string | null, thumbnailUrl?: string | null, placeholder?: string | null }> } };

export type DemoMessageFragment = { __typename?: 'Message', id: string, role: MessageRole, content: string, createdAt: string, images: Array<{ __typename?: 'Image', id: string, messageId: string, caption?: string | null, width: number, height: number, mimeType: string, service: StorageService, replicationStatus: ReplicationStatus, displayUrl: string, fallbackUrl?: string | null, thumbnailUrl?: string | null, placeholder?: string | null }> };

export type DemoImageFragment = { __typename?: 'Image', id: string, messageId: string, caption?: string | null, width: number, height: number, mimeType: string, service: StorageService, replicationStatus: ReplicationStatus, displayUrl: string, fallbackUrl?: string | null, thumbnailUrl?: string | null, placeholder?: string | null };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const DemoImageFragmentDoc = new TypedDocumentString(`
    fragment DemoImage on Image {
  id
  messageId
  caption
  width
  height
  mimeType
  service
  replicationStatus
  displayUrl
  fallbackUrl
  thumbnailUrl
  placeholder
}
    `, {"fragmentName":"DemoImage"}) as unknown as TypedDocumentString<DemoImageFragment, unknown>;
export const DemoMessageFragmentDoc = new TypedDocumentString(`
    fragment DemoMessage on Message {
  id
  role
  content
  createdAt
  images {
    ...DemoImage
  }
}
    fragment DemoImage on Image {
  id
  messageId
  caption
  width
  height
  mimeType
  service
  replicationStatus
  displayUrl
  fallbackUrl
  thumbnailUrl
  placeholder
}`, {"fragmentName":"DemoMessage"}) as unknown as TypedDocumentString<DemoMessageFragment, unknown>;
export const DemoConversationsDocument = new TypedDocumentString(`
    query DemoConversations {
  conversations(first: 50) {
    edges {
      node {
        id
        title
        imageCount
        updatedAt
      }
    }
  }
}
    `) as unknown as TypedDocumentString<DemoConversationsQuery, DemoConversationsQueryVariables>;
export const DemoCreateConversationDocument = new TypedDocumentString(`
    mutation DemoCreateConversation($title: String) {
  createConversation(input: {title: $title}) {
    id
    title
    imageCount
    updatedAt
  }
}
    `) as unknown as TypedDocumentString<DemoCreateConversationMutation, DemoCreateConversationMutationVariables>;
export const DemoConversationMessagesDocument = new TypedDocumentString(`
    query DemoConversationMessages($id: ID!) {
  conversation(id: $id) {
    id
    title
    messages(first: 100) {
      edges {
        node {
          ...DemoMessage
        }
      }
    }
  }
}
    fragment DemoMessage on Message {
  id
  role
  content
  createdAt
  images {
    ...DemoImage
  }
}
fragment DemoImage on Image {
  id
  messageId
  caption
  width
  height
  mimeType
  service
  replicationStatus
  displayUrl
  fallbackUrl
  thumbnailUrl
  placeholder
}`) as unknown as TypedDocumentString<DemoConversationMessagesQuery, DemoConversationMessagesQueryVariables>;
export const DemoMessageDocument = new TypedDocumentString(`
    query DemoMessage($id: ID!) {
  message(id: $id) {
    ...DemoMessage
  }
}
    fragment DemoMessage on Message {
  id
  role
  content
  createdAt
  images {
    ...DemoImage
  }
}
fragment DemoImage on Image {
  id
  messageId
  caption
  width
  height
  mimeType
  service
  replicationStatus
  displayUrl
  fallbackUrl
  thumbnailUrl
  placeholder
}`) as unknown as TypedDocumentString<DemoMessageQuery, DemoMessageQueryVariables>;
export const DemoPostMessageDocument = new TypedDocumentString(`
    mutation DemoPostMessage($conversationId: ID!, $content: String!) {
  postMessage(
    input: {conversationId: $conversationId, role: USER, content: $content}
  ) {
    ...DemoMessage
  }
}
    fragment DemoMessage on Message {
  id
  role
  content
  createdAt
  images {
    ...DemoImage
  }
}
fragment DemoImage on Image {
  id
  messageId
  caption
  width
  height
  mimeType
  service
  replicationStatus
  displayUrl
  fallbackUrl
  thumbnailUrl
  placeholder
}`) as unknown as TypedDocumentString<DemoPostMessageMutation, DemoPostMessageMutationVariables>;
export const DemoUploadDocument = new TypedDocumentString(`
    mutation DemoUpload($file: Upload!, $conversationId: ID!, $content: String, $caption: String) {
  uploadImage(
    input: {file: $file, conversationId: $conversationId, role: USER, content: $content, caption: $caption, waitForCloud: false}
  ) {
    image {
      ...DemoImage
    }
    message {
      ...DemoMessage
    }
  }
}
    fragment DemoMessage on Message {
  id
  role
  content
  createdAt
  images {
    ...DemoImage
  }
}
fragment DemoImage on Image {
  id
  messageId
  caption
  width
  height
  mimeType
  service
  replicationStatus
  displayUrl
  fallbackUrl
  thumbnailUrl
  placeholder
}`) as unknown as TypedDocumentString<DemoUploadMutation, DemoUploadMutationVariables>;
export const DemoDeleteImageDocument = new TypedDocumentString(`
    mutation DemoDeleteImage($id: ID!) {
  deleteImage(id: $id) {
    deletedImageId
  }
}
    `) as unknown as TypedDocumentString<DemoDeleteImageMutation, DemoDeleteImageMutationVariables>;
export const DemoImageEventsDocument = new TypedDocumentString(`
    subscription DemoImageEvents($conversationId: ID!) {
  imageEvents(conversationId: $conversationId) {
    kind
    imageId
    image {
      ...DemoImage
    }
  }
}
    fragment DemoImage on Image {
  id
  messageId
  caption
  width
  height
  mimeType
  service
  replicationStatus
  displayUrl
  fallbackUrl
  thumbnailUrl
  placeholder
}`) as unknown as TypedDocumentString<DemoImageEventsSubscription, DemoImageEventsSubscriptionVariables>;
export const DemoMessageAddedDocument = new TypedDocumentString(`
    subscription DemoMessageAdded($conversationId: ID!) {
  messageAdded(conversationId: $conversationId) {
    ...DemoMessage
  }
}
    fragment DemoMessage on Message {
  id
  role
  content
  createdAt
  images {
    ...DemoImage
  }
}
fragment DemoImage on Image {
  id
  messageId
  caption
  width
  height
  mimeType
  service
  replicationStatus
  displayUrl
  fallbackUrl
  thumbnailUrl
  placeholder
}`) as unknown as TypedDocumentString<DemoMessageAddedSubscription, DemoMessageAddedSubscriptionVariables>;