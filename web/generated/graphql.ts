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

/** What cleanupLocalImages removed and kept. */
export type CleanupPayload = {
  __typename?: 'CleanupPayload';
  bytesFreed: Scalars['Float']['output'];
  /** Local originals removed (only those with a lasting cloud copy). */
  deleted: Scalars['Int']['output'];
  /** Old, but the only lasting copy (not REPLICATED, or on ImgBB with IMGBB_EXPIRATION): kept. */
  keptNoCloudCopy: Scalars['Int']['output'];
};

/** A chat between one user and the assistant. Owned by the user who created it. */
export type Conversation = {
  __typename?: 'Conversation';
  /** When the conversation was created. */
  createdAt: Scalars['DateTime']['output'];
  id: Scalars['ID']['output'];
  /** How many images the messages of this conversation carry. */
  imageCount: Scalars['Int']['output'];
  /** Messages, oldest first. */
  messages: MessageConnection;
  /** Optional title, at most 500 characters. */
  title?: Maybe<Scalars['String']['output']>;
  /** When the conversation was created or last received a message. */
  updatedAt: Scalars['DateTime']['output'];
};


/** A chat between one user and the assistant. Owned by the user who created it. */
export type ConversationMessagesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};

/** A page of conversations. */
export type ConversationConnection = {
  __typename?: 'ConversationConnection';
  /** The conversations of this page, in order. */
  edges: Array<ConversationEdge>;
  pageInfo: PageInfo;
  /** How many conversations match in all, across every page. */
  totalCount: Scalars['Int']['output'];
};

/** One conversation in a page, with its cursor. */
export type ConversationEdge = {
  __typename?: 'ConversationEdge';
  /** Opaque cursor of this item; pass it as `after` to read what follows. */
  cursor: Scalars['String']['output'];
  /** The conversation. */
  node: Conversation;
};

/** A new conversation. */
export type CreateConversationInput = {
  /** Optional title, at most 500 characters. */
  title?: InputMaybe<Scalars['String']['input']>;
};

/** What deleteImage removed. The image is gone from every query at once; copies that could not be removed yet are retried by the server. */
export type DeleteImagePayload = {
  __typename?: 'DeleteImagePayload';
  /** A provider confirmed the cloud copy is deleted. false where there was none, the provider offers no deletion (ImgBB), another image shares the copy, or it failed (then it is retried in the background). */
  cloudDeleted: Scalars['Boolean']['output'];
  deletedImageId: Scalars['ID']['output'];
  /** No local file of the image (original or thumbnail) remains. false: a removal failed and is retried in the background. */
  localDeleted: Scalars['Boolean']['output'];
};

/** An image kept twice: on this server and at a cloud host. Show `displayUrl` and fall back to `fallbackUrl` when it fails to load. */
export type Image = {
  __typename?: 'Image';
  caption?: Maybe<Scalars['String']['output']>;
  /** Public URL of the cloud copy; null while no provider holds one. */
  cloudUrl?: Maybe<Scalars['String']['output']>;
  conversationId: Scalars['ID']['output'];
  /** What an <img src> should use: the cloud URL once replicated, else the local URL. */
  displayUrl: Scalars['String']['output'];
  /** The other copy, for <img onerror>; null when there is none. */
  fallbackUrl?: Maybe<Scalars['String']['output']>;
  /** AI-generated (true) or uploaded by a user (false). */
  generated: Scalars['Boolean']['output'];
  /** Height in pixels, after EXIF orientation. */
  height: Scalars['Int']['output'];
  id: Scalars['ID']['output'];
  /** Signed, expiring URL of this server's copy; null when no local copy is kept. */
  localUrl?: Maybe<Scalars['String']['output']>;
  message: Message;
  messageId: Scalars['ID']['output'];
  /** Mime type of the stored file, detected from its bytes. */
  mimeType: Scalars['String']['output'];
  /** Tiny data URI to show, blurred, while the image loads. */
  placeholder?: Maybe<Scalars['String']['output']>;
  replicationStatus: ReplicationStatus;
  /** Which provider holds the cloud copy; LOCAL while none does. */
  service: StorageService;
  /** Hex SHA-256 digest of the stored file. */
  sha256: Scalars['String']['output'];
  /** Bytes of the stored file. */
  size: Scalars['Int']['output'];
  /** Signed, expiring URL of the local thumbnail (WebP). */
  thumbnailUrl?: Maybe<Scalars['String']['output']>;
  /** When the image was stored. */
  uploadedAt: Scalars['DateTime']['output'];
  /** Width in pixels, after EXIF orientation. */
  width: Scalars['Int']['output'];
};

/** A page of images. */
export type ImageConnection = {
  __typename?: 'ImageConnection';
  /** The images of this page, in order. */
  edges: Array<ImageEdge>;
  pageInfo: PageInfo;
  /** How many images match in all, across every page. */
  totalCount: Scalars['Int']['output'];
};

/** One image in a page, with its cursor. */
export type ImageEdge = {
  __typename?: 'ImageEdge';
  /** Opaque cursor of this item; pass it as `after` to read what follows. */
  cursor: Scalars['String']['output'];
  /** The image. */
  node: Image;
};

/** Narrows `images`; every field is optional and they combine with AND. */
export type ImageFilter = {
  conversationId?: InputMaybe<Scalars['ID']['input']>;
  generated?: InputMaybe<Scalars['Boolean']['input']>;
  /** Bytes, inclusive. */
  maxSize?: InputMaybe<Scalars['Int']['input']>;
  /** Bytes, inclusive. */
  minSize?: InputMaybe<Scalars['Int']['input']>;
  service?: InputMaybe<StorageService>;
  /** Inclusive. */
  uploadedAfter?: InputMaybe<Scalars['DateTime']['input']>;
  /** Exclusive. */
  uploadedBefore?: InputMaybe<Scalars['DateTime']['input']>;
};

/** An image with neither a good local copy nor a cloud copy. */
export type LostImage = {
  __typename?: 'LostImage';
  conversationId: Scalars['ID']['output'];
  imageId: Scalars['ID']['output'];
  reason: Scalars['String']['output'];
};

/** One message of a conversation, with the images it carries. */
export type Message = {
  __typename?: 'Message';
  /** Text of the message; may be empty when the message only carries images. */
  content: Scalars['String']['output'];
  conversation: Conversation;
  conversationId: Scalars['ID']['output'];
  createdAt: Scalars['DateTime']['output'];
  id: Scalars['ID']['output'];
  /** Images of this message, in the order they were added. */
  images: Array<Image>;
  role: MessageRole;
};

/** A page of messages. */
export type MessageConnection = {
  __typename?: 'MessageConnection';
  /** The messages of this page, in order. */
  edges: Array<MessageEdge>;
  pageInfo: PageInfo;
  /** How many messages match in all, across every page. */
  totalCount: Scalars['Int']['output'];
};

/** One message in a page, with its cursor. */
export type MessageEdge = {
  __typename?: 'MessageEdge';
  /** Opaque cursor of this item; pass it as `after` to read what follows. */
  cursor: Scalars['String']['output'];
  /** The message. */
  node: Message;
};

/** Who wrote a message. */
export type MessageRole =
  /** The chatbot or an AI model. */
  | 'ASSISTANT'
  /** Instructions or notices from the application. */
  | 'SYSTEM'
  /** The person chatting. */
  | 'USER';

export type Mutation = {
  __typename?: 'Mutation';
  /** Admin only: remove local originals older than `olderThanDays` whose cloud copy holds them; thumbnails stay. Their /files links then redirect to the cloud copy. */
  cleanupLocalImages: CleanupPayload;
  /** Start a conversation owned by the caller. */
  createConversation: Conversation;
  /** Delete one of your images everywhere: cloud copy (where the provider allows), local original, thumbnail and record. Admins may delete any image. */
  deleteImage: DeleteImagePayload;
  /** Add a message to one of your conversations. */
  postMessage: Message;
  /** Admin only: put an image that gave up (LOCAL_ONLY) or is waiting (RETRYING) back in the replication queue, due now, with its attempts reset. */
  requeueImageReplication: Image;
  /** Bring local copies back from the cloud: each image whose local file is missing or does not match its sha256 is downloaded, verified and written; missing thumbnails are made again. Safe to run again. */
  restoreImages: RestoreImagesPayload;
  /** Store an image in one of your conversations: attached to `messageId`, or in a new message. Multipart requests need the `apollo-require-preflight: true` header. */
  uploadImage: UploadImagePayload;
};


export type MutationCleanupLocalImagesArgs = {
  input: CleanupInput;
};


export type MutationCreateConversationArgs = {
  input: CreateConversationInput;
};


export type MutationDeleteImageArgs = {
  id: Scalars['ID']['input'];
};


export type MutationPostMessageArgs = {
  input: PostMessageInput;
};


export type MutationRequeueImageReplicationArgs = {
  id: Scalars['ID']['input'];
};


export type MutationRestoreImagesArgs = {
  input?: InputMaybe<RestoreImagesInput>;
};


export type MutationUploadImageArgs = {
  input: UploadImageInput;
};

/** Relay-style page information. */
export type PageInfo = {
  __typename?: 'PageInfo';
  /** Cursor of the last item of this page; pass it as `after` for the next page. Null on an empty page. */
  endCursor?: Maybe<Scalars['String']['output']>;
  /** Whether more items follow this page. */
  hasNextPage: Scalars['Boolean']['output'];
};

/** A new message in one of your conversations. */
export type PostMessageInput = {
  /** Text of the message, at most 100,000 characters. */
  content: Scalars['String']['input'];
  conversationId: Scalars['ID']['input'];
  /** Whether the attached images are AI-generated. */
  generated?: InputMaybe<Scalars['Boolean']['input']>;
  /** Optional attachments (multipart), processed like uploadImage; at most MAX_FILES. */
  images?: InputMaybe<Array<Scalars['Upload']['input']>>;
  role: MessageRole;
};

/** Health of one cloud provider of the chain, since this server started. */
export type ProviderStatus = {
  __typename?: 'ProviderStatus';
  /** Circuit breaker: CLOSED, OPEN (skipped for now) or HALF_OPEN (one trial call allowed). */
  circuit: Scalars['String']['output'];
  /** False when its API key is not configured. */
  enabled: Scalars['Boolean']['output'];
  /** Failed uploads (after retries) since start. */
  failures: Scalars['Int']['output'];
  /** Reason of the last failure. */
  lastError?: Maybe<Scalars['String']['output']>;
  name: StorageService;
  /** Successful uploads since start. */
  uploads: Scalars['Int']['output'];
};

export type Query = {
  __typename?: 'Query';
  /** One of your conversations (any, for an admin). Someone else's id is NOT_FOUND. */
  conversation?: Maybe<Conversation>;
  /** Your conversations, most recently updated first (everyone's, for an admin). */
  conversations: ConversationConnection;
  /** One of your images (any, for an admin). Someone else's id is NOT_FOUND. */
  image?: Maybe<Image>;
  /** Your images, newest first (everyone's, for an admin), optionally filtered. */
  images: ImageConnection;
  /** One of your messages (any, for an admin). Someone else's id is NOT_FOUND. */
  message?: Maybe<Message>;
  /** The cloud providers in chain order, then the disabled ones, with their health. */
  providers: Array<ProviderStatus>;
  /** Counts and bytes of the images you may see. */
  storageStats: StorageStats;
};


export type QueryConversationArgs = {
  id: Scalars['ID']['input'];
};


export type QueryConversationsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryImageArgs = {
  id: Scalars['ID']['input'];
};


export type QueryImagesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<ImageFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryMessageArgs = {
  id: Scalars['ID']['input'];
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

/** An image restoreImages could not restore, and why (nothing was overwritten). */
export type RestoreFailure = {
  __typename?: 'RestoreFailure';
  imageId: Scalars['ID']['output'];
  reason: Scalars['String']['output'];
};

/** Which images restoreImages looks at. Without a scope: every image of yours (an admin: every image). */
export type RestoreImagesInput = {
  /** Restrict to one conversation. */
  conversationId?: InputMaybe<Scalars['ID']['input']>;
  /** Count what would be restored, change nothing. */
  dryRun?: InputMaybe<Scalars['Boolean']['input']>;
  /** Restrict to these images (at most 1,000). */
  imageIds?: InputMaybe<Array<Scalars['ID']['input']>>;
};

/** What restoreImages found and did, counted per image. */
export type RestoreImagesPayload = {
  __typename?: 'RestoreImagesPayload';
  /** Local copy present and its sha256 matches. */
  alreadyPresent: Scalars['Int']['output'];
  /** Images whose local original cleanupLocalImages removed on purpose; not restored (their thumbnail is). */
  cloudOnly: Scalars['Int']['output'];
  failed: Scalars['Int']['output'];
  /** The first 100 failures with their reason; `failed` counts all. */
  failures: Array<RestoreFailure>;
  /** The first 100 images counted in noCloudCopy. */
  lost: Array<LostImage>;
  /** Missing (or damaged) locally and no cloud copy: cannot be restored. Listed in `lost`. */
  noCloudCopy: Scalars['Int']['output'];
  /** Local copy written from the cloud copy, after its sha256 matched the record (in a dry run: would be). */
  restored: Scalars['Int']['output'];
  scanned: Scalars['Int']['output'];
  /** Missing thumbnails made again from the original. */
  thumbnailsRegenerated: Scalars['Int']['output'];
};

/** Images and bytes held by one storage service. */
export type ServiceStats = {
  __typename?: 'ServiceStats';
  /** Bytes (a Float, as totals can pass 2^31). */
  bytes: Scalars['Float']['output'];
  count: Scalars['Int']['output'];
  service: StorageService;
};

/** Where the cloud copy of an image lives. LOCAL: no cloud provider holds it (yet). */
export type StorageService =
  /** ImgBB (ibb.co). */
  | 'IMGBB'
  /** Only this server holds the image. */
  | 'LOCAL'
  /** PostImages (postimg.cc). */
  | 'POSTIMAGES';

/** Totals over the images the caller may see (an admin: everyone's). */
export type StorageStats = {
  __typename?: 'StorageStats';
  byService: Array<ServiceStats>;
  imageCount: Scalars['Int']['output'];
  /** Bytes of the local copies this server keeps. */
  localBytes: Scalars['Float']['output'];
  /** Images not yet held by a cloud provider (PENDING or RETRYING). */
  pendingReplication: Scalars['Int']['output'];
  /** Bytes of every stored image. */
  totalBytes: Scalars['Float']['output'];
};

/** An image to store: send exactly one of `file` (multipart) or `base64`. */
export type UploadImageInput = {
  /** The image as raw base64 or a data: URI, for callers that cannot send multipart. */
  base64?: InputMaybe<Scalars['String']['input']>;
  /** At most 2,000 characters. */
  caption?: InputMaybe<Scalars['String']['input']>;
  /** Content of the new message. */
  content?: InputMaybe<Scalars['String']['input']>;
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

/** The stored image and the message that carries it. */
export type UploadImagePayload = {
  __typename?: 'UploadImagePayload';
  image: Image;
  message: Message;
};

export type DemoConversationsQueryVariables = Exact<{ [key: string]: never; }>;


export type DemoConversationsQuery = { __typename?: 'Query', conversations: { __typename?: 'ConversationConnection', edges: Array<{ __typename?: 'ConversationEdge', node: { __typename?: 'Conversation', id: string, title?: string | null, imageCount: number, updatedAt: string } }> } };

export type DemoCreateConversationMutationVariables = Exact<{
  title?: InputMaybe<Scalars['String']['input']>;
}>;


export type DemoCreateConversationMutation = { __typename?: 'Mutation', createConversation: { __typename?: 'Conversation', id: string, title?: string | null, imageCount: number, updatedAt: string } };

export type DemoConversationImagesQueryVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type DemoConversationImagesQuery = { __typename?: 'Query', conversation?: { __typename?: 'Conversation', id: string, title?: string | null, messages: { __typename?: 'MessageConnection', edges: Array<{ __typename?: 'MessageEdge', node: { __typename?: 'Message', id: string, images: Array<{ __typename?: 'Image', id: string, width: number, height: number, mimeType: string, service: StorageService, replicationStatus: ReplicationStatus, displayUrl: string, fallbackUrl?: string | null, thumbnailUrl?: string | null, placeholder?: string | null }> } }> } } | null };

export type DemoUploadMutationVariables = Exact<{
  file: Scalars['Upload']['input'];
  conversationId: Scalars['ID']['input'];
}>;


export type DemoUploadMutation = { __typename?: 'Mutation', uploadImage: { __typename?: 'UploadImagePayload', image: { __typename?: 'Image', id: string, width: number, height: number, mimeType: string, service: StorageService, replicationStatus: ReplicationStatus, displayUrl: string, fallbackUrl?: string | null, thumbnailUrl?: string | null, placeholder?: string | null } } };

export type DemoImageFragment = { __typename?: 'Image', id: string, width: number, height: number, mimeType: string, service: StorageService, replicationStatus: ReplicationStatus, displayUrl: string, fallbackUrl?: string | null, thumbnailUrl?: string | null, placeholder?: string | null };

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
export const DemoConversationsDocument = new TypedDocumentString(`
    query DemoConversations {
  conversations(first: 20) {
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
export const DemoConversationImagesDocument = new TypedDocumentString(`
    query DemoConversationImages($id: ID!) {
  conversation(id: $id) {
    id
    title
    messages(first: 100) {
      edges {
        node {
          id
          images {
            ...DemoImage
          }
        }
      }
    }
  }
}
    fragment DemoImage on Image {
  id
  width
  height
  mimeType
  service
  replicationStatus
  displayUrl
  fallbackUrl
  thumbnailUrl
  placeholder
}`) as unknown as TypedDocumentString<DemoConversationImagesQuery, DemoConversationImagesQueryVariables>;
export const DemoUploadDocument = new TypedDocumentString(`
    mutation DemoUpload($file: Upload!, $conversationId: ID!) {
  uploadImage(
    input: {file: $file, conversationId: $conversationId, role: USER, waitForCloud: false}
  ) {
    image {
      ...DemoImage
    }
  }
}
    fragment DemoImage on Image {
  id
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