import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
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
  /** Cloud copies found holding other bytes than the local original (changed at the host; PostImages copies are always compared first): the original is kept, the image flagged (Image.cloudAlteredAt) and replicated again. */
  alteredCloudCopies: Scalars['Int']['output'];
  /** Bytes of the removed originals and thumbnails. */
  bytesFreed: Scalars['Float']['output'];
  /** Local originals removed (only those with a lasting cloud copy). */
  deleted: Scalars['Int']['output'];
  /** Originals now served from the cloud whose local file could not be removed (logged); a reconcile pass removes them. */
  failed: Scalars['Int']['output'];
  /** Old, but the only lasting copy (not REPLICATED, or on ImgBB with IMGBB_EXPIRATION): kept. */
  keptNoCloudCopy: Scalars['Int']['output'];
  /** Old, with a recorded cloud copy this server had not made that was unreachable or held other bytes when checked: kept (logged). */
  keptUnverifiedCloudCopy: Scalars['Int']['output'];
  /** Local thumbnails removed with their original, because the same provider holds a copy of the thumbnail too (s3). Other thumbnails stay. */
  thumbnailsDeleted: Scalars['Int']['output'];
  /** Recorded cloud copies this server had not made itself (the seed chatbot's, imported ones), downloaded and found to hold the local file's bytes before the original was removed. */
  verifiedCloudCopies: Scalars['Int']['output'];
};

/** A chat between one user and the assistant. Owned by the user who created it. */
export type Conversation = {
  __typename?: 'Conversation';
  /** When the conversation was created. */
  createdAt: Scalars['DateTime']['output'];
  /** Id of the conversation: 24 lowercase hex characters. */
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
  /** Whether another page follows, and the cursor to read it. */
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
  /** A provider confirmed the cloud copy is deleted (and its thumbnail copy, where the provider keeps one). false where there was none, the provider offers no deletion (ImgBB), another image shares the copy, or it failed (then it is retried in the background). */
  cloudDeleted: Scalars['Boolean']['output'];
  /** Id of the deleted image; it is NOT_FOUND from now on. */
  deletedImageId: Scalars['ID']['output'];
  /** No local file of the image (original or thumbnail) remains. false: a removal failed and is retried in the background. */
  localDeleted: Scalars['Boolean']['output'];
};

/** An image kept twice: on this server and at a cloud host. Show `displayUrl` and fall back to `fallbackUrl` when it fails to load. */
export type Image = {
  __typename?: 'Image';
  /** Optional caption, at most 2,000 characters; null when none. */
  caption?: Maybe<Scalars['String']['output']>;
  /** When a check (cleanupLocalImages, or a restore) found the cloud copy holding other bytes than `sha256`: changed at the host (PostImages may re-encode what it stores). The image is then replicated again from its local original, another provider first, and this goes back to null; it stays set when no local original matches. */
  cloudAlteredAt?: Maybe<Scalars['DateTime']['output']>;
  /** URL of the cloud copy (for a private S3 bucket a presigned, expiring one, made at each read); null while no provider holds one. */
  cloudUrl?: Maybe<Scalars['String']['output']>;
  /** The conversation of that message. */
  conversationId: Scalars['ID']['output'];
  /** What an <img src> should use: the cloud URL once replicated, else the local URL. */
  displayUrl: Scalars['String']['output'];
  /** The other copy, for <img onerror>; null when there is none. */
  fallbackUrl?: Maybe<Scalars['String']['output']>;
  /** AI-generated (true) or uploaded by a user (false). */
  generated: Scalars['Boolean']['output'];
  /** Height in pixels, after EXIF orientation. */
  height: Scalars['Int']['output'];
  /** Id of the image: 24 lowercase hex characters. */
  id: Scalars['ID']['output'];
  /** Signed, expiring URL of this server's copy; null when no local copy is kept. */
  localUrl?: Maybe<Scalars['String']['output']>;
  /** The message that carries the image. */
  message: Message;
  /** The message that carries the image. */
  messageId: Scalars['ID']['output'];
  /** Mime type of the stored file, detected from its bytes. */
  mimeType: Scalars['String']['output'];
  /** Tiny data URI to show, blurred, while the image loads. */
  placeholder?: Maybe<Scalars['String']['output']>;
  /** Progress of the cloud copy. */
  replicationStatus: ReplicationStatus;
  /** Which provider holds the cloud copy; LOCAL while none does. */
  service: StorageService;
  /** Hex SHA-256 digest of the stored file. */
  sha256: Scalars['String']['output'];
  /** Bytes of the stored file. */
  size: Scalars['Int']['output'];
  /** Signed, expiring URL of the local thumbnail (WebP; an adopted seed thumbnail keeps its format). Once cleanupLocalImages evicted it with its original (only where the provider keeps thumbnails too: s3), the URL of the thumbnail's cloud copy. */
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
  /** Whether another page follows, and the cursor to read it. */
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

/** One change to an image of a conversation, delivered by the imageEvents subscription. */
export type ImageEvent = {
  __typename?: 'ImageEvent';
  /** The image as it is after the event, read when the event is delivered; null for DELETED, or when it was deleted since. */
  image?: Maybe<Image>;
  /** The image the event is about (also for DELETED). */
  imageId: Scalars['ID']['output'];
  /** What happened. */
  kind: ImageEventKind;
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

/** An image with neither a good local copy nor a cloud copy. */
export type LostImage = {
  __typename?: 'LostImage';
  /** Its conversation. */
  conversationId: Scalars['ID']['output'];
  /** The image nothing holds any more. */
  imageId: Scalars['ID']['output'];
  /** Why: no cloud copy at all, or the cloud copy was found changed at its host. */
  reason: Scalars['String']['output'];
};

/** One message of a conversation, with the images it carries. */
export type Message = {
  __typename?: 'Message';
  /** Text of the message; may be empty when the message only carries images. */
  content: Scalars['String']['output'];
  /** The conversation the message belongs to. */
  conversation: Conversation;
  /** The conversation the message belongs to. */
  conversationId: Scalars['ID']['output'];
  /** When the message was stored. */
  createdAt: Scalars['DateTime']['output'];
  /** Id of the message: 24 lowercase hex characters. */
  id: Scalars['ID']['output'];
  /** Images of this message, in the order they were added. */
  images: Array<Image>;
  /** Who wrote the message. */
  role: MessageRole;
};

/** A page of messages. */
export type MessageConnection = {
  __typename?: 'MessageConnection';
  /** The messages of this page, in order. */
  edges: Array<MessageEdge>;
  /** Whether another page follows, and the cursor to read it. */
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

/** Writes: conversations, messages, image uploads and deletion, and the admin-only maintenance (restore, cleanup, replication). */
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
  /** Admin only: queue every LOCAL_ONLY image that still has its local original for replication (PENDING, attempts reset): those replication gave up on, and the seed chatbot's local-only images (cloud_url = url) read in place. Safe to run again. */
  requeueLocalOnlyImages: RequeueLocalOnlyPayload;
  /** Bring local copies back from the cloud: each image whose local file is missing or does not match its sha256 is downloaded, verified and written; missing thumbnails are made again. Safe to run again. */
  restoreImages: RestoreImagesPayload;
  /** Store an image in one of your conversations: attached to `messageId`, or in a new message. Multipart requests need the `apollo-require-preflight: true` header. */
  uploadImage: UploadImagePayload;
};


/** Writes: conversations, messages, image uploads and deletion, and the admin-only maintenance (restore, cleanup, replication). */
export type MutationCleanupLocalImagesArgs = {
  input: CleanupInput;
};


/** Writes: conversations, messages, image uploads and deletion, and the admin-only maintenance (restore, cleanup, replication). */
export type MutationCreateConversationArgs = {
  input: CreateConversationInput;
};


/** Writes: conversations, messages, image uploads and deletion, and the admin-only maintenance (restore, cleanup, replication). */
export type MutationDeleteImageArgs = {
  id: Scalars['ID']['input'];
};


/** Writes: conversations, messages, image uploads and deletion, and the admin-only maintenance (restore, cleanup, replication). */
export type MutationPostMessageArgs = {
  input: PostMessageInput;
};


/** Writes: conversations, messages, image uploads and deletion, and the admin-only maintenance (restore, cleanup, replication). */
export type MutationRequeueImageReplicationArgs = {
  id: Scalars['ID']['input'];
};


/** Writes: conversations, messages, image uploads and deletion, and the admin-only maintenance (restore, cleanup, replication). */
export type MutationRequeueLocalOnlyImagesArgs = {
  dryRun?: InputMaybe<Scalars['Boolean']['input']>;
};


/** Writes: conversations, messages, image uploads and deletion, and the admin-only maintenance (restore, cleanup, replication). */
export type MutationRestoreImagesArgs = {
  input?: InputMaybe<RestoreImagesInput>;
};


/** Writes: conversations, messages, image uploads and deletion, and the admin-only maintenance (restore, cleanup, replication). */
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
  /** The conversation to add it to: one of yours (any, for an admin; the message then belongs to its owner). Someone else's id is NOT_FOUND. */
  conversationId: Scalars['ID']['input'];
  /** Whether the attached images are AI-generated. */
  generated?: InputMaybe<Scalars['Boolean']['input']>;
  /** Optional attachments (multipart), processed like uploadImage; at most MAX_FILES. */
  images?: InputMaybe<Array<Scalars['Upload']['input']>>;
  /** Who wrote the message. */
  role: MessageRole;
};

/** An upload budget (POSTIMAGES_BUDGET, IMGBB_BUDGET, S3_BUDGET): at most `limit` uploads per UTC `per` window, counted in the metadata store for every server process on it. A spent provider is skipped without a request until `resetsAt`. */
export type ProviderBudget = {
  __typename?: 'ProviderBudget';
  /** Uploads allowed per window (at least 1). */
  limit: Scalars['Int']['output'];
  /** The window: minute, hour, day or month (calendar month, UTC). */
  per: Scalars['String']['output'];
  /** When the current window ends and the count starts again. */
  resetsAt: Scalars['DateTime']['output'];
  /** Uploads sent in the current window, by every server process on the store. */
  used: Scalars['Int']['output'];
};

/** Health of one cloud provider of the chain, since this server started. */
export type ProviderStatus = {
  __typename?: 'ProviderStatus';
  /** Its upload budget and what is used of the current window; null: no budget. */
  budget?: Maybe<ProviderBudget>;
  /** Circuit breaker: CLOSED, OPEN (skipped for now) or HALF_OPEN (one trial call allowed). */
  circuit: Scalars['String']['output'];
  /** False when its API key is not configured. */
  enabled: Scalars['Boolean']['output'];
  /** Failed uploads (after retries) since start. */
  failures: Scalars['Int']['output'];
  /** Reason of the last failure. */
  lastError?: Maybe<Scalars['String']['output']>;
  /** Its last failure said it is set up wrong (S3: AccessDenied, NoSuchBucket, refused credentials): never retried, the chain moves on, an operator must fix its settings. Cleared by the next success. */
  misconfigured: Scalars['Boolean']['output'];
  /** Which provider. */
  name: StorageService;
  /** Successful uploads since start. */
  uploads: Scalars['Int']['output'];
};

/** Reads. A caller sees only their own data (an admin: everyone's); someone else's id answers exactly as a missing one (NOT_FOUND). */
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


/** Reads. A caller sees only their own data (an admin: everyone's); someone else's id answers exactly as a missing one (NOT_FOUND). */
export type QueryConversationArgs = {
  id: Scalars['ID']['input'];
};


/** Reads. A caller sees only their own data (an admin: everyone's); someone else's id answers exactly as a missing one (NOT_FOUND). */
export type QueryConversationsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


/** Reads. A caller sees only their own data (an admin: everyone's); someone else's id answers exactly as a missing one (NOT_FOUND). */
export type QueryImageArgs = {
  id: Scalars['ID']['input'];
};


/** Reads. A caller sees only their own data (an admin: everyone's); someone else's id answers exactly as a missing one (NOT_FOUND). */
export type QueryImagesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<ImageFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


/** Reads. A caller sees only their own data (an admin: everyone's); someone else's id answers exactly as a missing one (NOT_FOUND). */
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

/** What requeueLocalOnlyImages found and queued. */
export type RequeueLocalOnlyPayload = {
  __typename?: 'RequeueLocalOnlyPayload';
  /** LOCAL_ONLY images with a local original, now PENDING with fresh attempts (in a dry run: that would be). */
  queued: Scalars['Int']['output'];
  /** Images looked at (all of them). */
  scanned: Scalars['Int']['output'];
};

/** An image restoreImages could not restore, and why (nothing was overwritten). */
export type RestoreFailure = {
  __typename?: 'RestoreFailure';
  /** The image that could not be restored. */
  imageId: Scalars['ID']['output'];
  /** What went wrong, such as a failed download or a cloud copy that does not match the recorded sha256 (server paths removed). */
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
  /** Images whose restore failed; nothing was overwritten for them. */
  failed: Scalars['Int']['output'];
  /** The first 100 failures with their reason; `failed` counts all. */
  failures: Array<RestoreFailure>;
  /** The first 100 images counted in noCloudCopy. */
  lost: Array<LostImage>;
  /** Missing (or damaged) locally and no cloud copy: cannot be restored. Listed in `lost`. */
  noCloudCopy: Scalars['Int']['output'];
  /** Local copy written from the cloud copy, after its sha256 matched the record (in a dry run: would be). */
  restored: Scalars['Int']['output'];
  /** Images looked at in the scope. */
  scanned: Scalars['Int']['output'];
  /** Missing thumbnails made again from the original. */
  thumbnailsRegenerated: Scalars['Int']['output'];
};

/** Images and bytes held by one storage service. */
export type ServiceStats = {
  __typename?: 'ServiceStats';
  /** Bytes (a Float, as totals can pass 2^31). */
  bytes: Scalars['Float']['output'];
  /** Images whose cloud copy it holds (LOCAL: images no provider holds). */
  count: Scalars['Int']['output'];
  /** The service. */
  service: StorageService;
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

/** Totals over the images the caller may see (an admin: everyone's). */
export type StorageStats = {
  __typename?: 'StorageStats';
  /** One entry per service holding at least one of the images, in StorageService order. */
  byService: Array<ServiceStats>;
  /** Images stored. */
  imageCount: Scalars['Int']['output'];
  /** Bytes of the local copies this server keeps. */
  localBytes: Scalars['Float']['output'];
  /** Images not yet held by a cloud provider (PENDING or RETRYING). */
  pendingReplication: Scalars['Int']['output'];
  /** Bytes of every stored image. */
  totalBytes: Scalars['Float']['output'];
};

/** Live updates over WebSocket (graphql-transport-ws at /graphql): images and messages of one of your conversations. */
export type Subscription = {
  __typename?: 'Subscription';
  /** Images of one of your conversations: added, replication status changed, deleted. */
  imageEvents: ImageEvent;
  /** Messages added to one of your conversations. */
  messageAdded: Message;
};


/** Live updates over WebSocket (graphql-transport-ws at /graphql): images and messages of one of your conversations. */
export type SubscriptionImageEventsArgs = {
  conversationId: Scalars['ID']['input'];
};


/** Live updates over WebSocket (graphql-transport-ws at /graphql): images and messages of one of your conversations. */
export type SubscriptionMessageAddedArgs = {
  conversationId: Scalars['ID']['input'];
};

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

/** The stored image and the message that carries it. */
export type UploadImagePayload = {
  __typename?: 'UploadImagePayload';
  /** The stored image, as it is when the mutation answers (see waitForCloud). */
  image: Image;
  /** The message that carries it: the one `messageId` named, or the new one. */
  message: Message;
};

export type ImageFieldsFragment = { __typename?: 'Image', id: string, messageId: string, conversationId: string, caption?: string | null, mimeType: string, size: number, width: number, height: number, generated: boolean, sha256: string, service: StorageService, replicationStatus: ReplicationStatus, displayUrl: string, fallbackUrl?: string | null, cloudUrl?: string | null, localUrl?: string | null, thumbnailUrl?: string | null, placeholder?: string | null, uploadedAt: string, cloudAlteredAt?: string | null };

export type CreateConversationMutationVariables = Exact<{
  input: CreateConversationInput;
}>;


export type CreateConversationMutation = { __typename?: 'Mutation', createConversation: { __typename?: 'Conversation', id: string, title?: string | null, createdAt: string, updatedAt: string, imageCount: number } };

export type PostMessageMutationVariables = Exact<{
  input: PostMessageInput;
}>;


export type PostMessageMutation = { __typename?: 'Mutation', postMessage: { __typename?: 'Message', id: string, conversationId: string, role: MessageRole, content: string, createdAt: string, conversation: { __typename?: 'Conversation', id: string, updatedAt: string }, images: Array<{ __typename?: 'Image', id: string }> } };

export type ConversationQueryVariables = Exact<{
  id: Scalars['ID']['input'];
  first?: InputMaybe<Scalars['Int']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type ConversationQuery = { __typename?: 'Query', conversation?: { __typename?: 'Conversation', id: string, title?: string | null, createdAt: string, updatedAt: string, imageCount: number, messages: { __typename?: 'MessageConnection', totalCount: number, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor?: string | null }, edges: Array<{ __typename?: 'MessageEdge', cursor: string, node: { __typename?: 'Message', id: string, role: MessageRole, content: string, createdAt: string } }> } } | null };

export type ConversationsQueryVariables = Exact<{
  first?: InputMaybe<Scalars['Int']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type ConversationsQuery = { __typename?: 'Query', conversations: { __typename?: 'ConversationConnection', totalCount: number, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor?: string | null }, edges: Array<{ __typename?: 'ConversationEdge', cursor: string, node: { __typename?: 'Conversation', id: string, title?: string | null, updatedAt: string } }> } };

export type ConversationsWithMessagesQueryVariables = Exact<{
  first?: InputMaybe<Scalars['Int']['input']>;
  messagesFirst?: InputMaybe<Scalars['Int']['input']>;
}>;


export type ConversationsWithMessagesQuery = { __typename?: 'Query', conversations: { __typename?: 'ConversationConnection', totalCount: number, edges: Array<{ __typename?: 'ConversationEdge', node: { __typename?: 'Conversation', id: string, title?: string | null, imageCount: number, messages: { __typename?: 'MessageConnection', totalCount: number, edges: Array<{ __typename?: 'MessageEdge', node: { __typename?: 'Message', id: string, role: MessageRole, content: string, createdAt: string, images: Array<{ __typename?: 'Image', id: string, messageId: string, conversationId: string, caption?: string | null, mimeType: string, size: number, width: number, height: number, generated: boolean, sha256: string, service: StorageService, replicationStatus: ReplicationStatus, displayUrl: string, fallbackUrl?: string | null, cloudUrl?: string | null, localUrl?: string | null, thumbnailUrl?: string | null, placeholder?: string | null, uploadedAt: string, cloudAlteredAt?: string | null }> } }> } } }> } };

export type MessageQueryVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type MessageQuery = { __typename?: 'Query', message?: { __typename?: 'Message', id: string, conversationId: string, role: MessageRole, content: string, conversation: { __typename?: 'Conversation', id: string }, images: Array<{ __typename?: 'Image', id: string, messageId: string, conversationId: string, caption?: string | null, mimeType: string, size: number, width: number, height: number, generated: boolean, sha256: string, service: StorageService, replicationStatus: ReplicationStatus, displayUrl: string, fallbackUrl?: string | null, cloudUrl?: string | null, localUrl?: string | null, thumbnailUrl?: string | null, placeholder?: string | null, uploadedAt: string, cloudAlteredAt?: string | null }> } | null };

export type ImageQueryVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type ImageQuery = { __typename?: 'Query', image?: { __typename?: 'Image', id: string, messageId: string, conversationId: string, caption?: string | null, mimeType: string, size: number, width: number, height: number, generated: boolean, sha256: string, service: StorageService, replicationStatus: ReplicationStatus, displayUrl: string, fallbackUrl?: string | null, cloudUrl?: string | null, localUrl?: string | null, thumbnailUrl?: string | null, placeholder?: string | null, uploadedAt: string, cloudAlteredAt?: string | null, message: { __typename?: 'Message', id: string, conversation: { __typename?: 'Conversation', id: string } } } | null };

export type ImagesQueryVariables = Exact<{
  filter?: InputMaybe<ImageFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type ImagesQuery = { __typename?: 'Query', images: { __typename?: 'ImageConnection', totalCount: number, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor?: string | null }, edges: Array<{ __typename?: 'ImageEdge', cursor: string, node: { __typename?: 'Image', id: string, messageId: string, conversationId: string, caption?: string | null, mimeType: string, size: number, width: number, height: number, generated: boolean, sha256: string, service: StorageService, replicationStatus: ReplicationStatus, displayUrl: string, fallbackUrl?: string | null, cloudUrl?: string | null, localUrl?: string | null, thumbnailUrl?: string | null, placeholder?: string | null, uploadedAt: string, cloudAlteredAt?: string | null } }> } };

export type StorageStatsQueryVariables = Exact<{ [key: string]: never; }>;


export type StorageStatsQuery = { __typename?: 'Query', storageStats: { __typename?: 'StorageStats', imageCount: number, totalBytes: number, localBytes: number, pendingReplication: number, byService: Array<{ __typename?: 'ServiceStats', service: StorageService, count: number, bytes: number }> } };

export type DeleteImageMutationVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type DeleteImageMutation = { __typename?: 'Mutation', deleteImage: { __typename?: 'DeleteImagePayload', deletedImageId: string, localDeleted: boolean, cloudDeleted: boolean } };

export type RestoreImagesMutationVariables = Exact<{
  input?: InputMaybe<RestoreImagesInput>;
}>;


export type RestoreImagesMutation = { __typename?: 'Mutation', restoreImages: { __typename?: 'RestoreImagesPayload', scanned: number, restored: number, alreadyPresent: number, noCloudCopy: number, failed: number, thumbnailsRegenerated: number, cloudOnly: number, failures: Array<{ __typename?: 'RestoreFailure', imageId: string, reason: string }>, lost: Array<{ __typename?: 'LostImage', imageId: string, conversationId: string, reason: string }> } };

export type CleanupLocalImagesMutationVariables = Exact<{
  input: CleanupInput;
}>;


export type CleanupLocalImagesMutation = { __typename?: 'Mutation', cleanupLocalImages: { __typename?: 'CleanupPayload', deleted: number, thumbnailsDeleted: number, keptNoCloudCopy: number, verifiedCloudCopies: number, keptUnverifiedCloudCopy: number, alteredCloudCopies: number, bytesFreed: number, failed: number } };

export type ProvidersQueryVariables = Exact<{ [key: string]: never; }>;


export type ProvidersQuery = { __typename?: 'Query', providers: Array<{ __typename?: 'ProviderStatus', name: StorageService, enabled: boolean, circuit: string, uploads: number, failures: number, lastError?: string | null, misconfigured: boolean, budget?: { __typename?: 'ProviderBudget', limit: number, per: string, used: number, resetsAt: string } | null }> };

export type RequeueImageReplicationMutationVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type RequeueImageReplicationMutation = { __typename?: 'Mutation', requeueImageReplication: { __typename?: 'Image', id: string, replicationStatus: ReplicationStatus, service: StorageService } };

export type RequeueLocalOnlyImagesMutationVariables = Exact<{
  dryRun?: InputMaybe<Scalars['Boolean']['input']>;
}>;


export type RequeueLocalOnlyImagesMutation = { __typename?: 'Mutation', requeueLocalOnlyImages: { __typename?: 'RequeueLocalOnlyPayload', scanned: number, queued: number } };

export type UploadImageMutationVariables = Exact<{
  input: UploadImageInput;
}>;


export type UploadImageMutation = { __typename?: 'Mutation', uploadImage: { __typename?: 'UploadImagePayload', image: { __typename?: 'Image', id: string, messageId: string, conversationId: string, caption?: string | null, mimeType: string, size: number, width: number, height: number, generated: boolean, sha256: string, service: StorageService, replicationStatus: ReplicationStatus, displayUrl: string, fallbackUrl?: string | null, cloudUrl?: string | null, localUrl?: string | null, thumbnailUrl?: string | null, placeholder?: string | null, uploadedAt: string, cloudAlteredAt?: string | null }, message: { __typename?: 'Message', id: string, conversationId: string, role: MessageRole, content: string, images: Array<{ __typename?: 'Image', id: string }> } } };

export type PostMessageWithImagesMutationVariables = Exact<{
  input: PostMessageInput;
}>;


export type PostMessageWithImagesMutation = { __typename?: 'Mutation', postMessage: { __typename?: 'Message', id: string, content: string, images: Array<{ __typename?: 'Image', id: string, messageId: string, conversationId: string, caption?: string | null, mimeType: string, size: number, width: number, height: number, generated: boolean, sha256: string, service: StorageService, replicationStatus: ReplicationStatus, displayUrl: string, fallbackUrl?: string | null, cloudUrl?: string | null, localUrl?: string | null, thumbnailUrl?: string | null, placeholder?: string | null, uploadedAt: string, cloudAlteredAt?: string | null }> } };

export const ImageFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImageFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Image"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"messageId"}},{"kind":"Field","name":{"kind":"Name","value":"conversationId"}},{"kind":"Field","name":{"kind":"Name","value":"caption"}},{"kind":"Field","name":{"kind":"Name","value":"mimeType"}},{"kind":"Field","name":{"kind":"Name","value":"size"}},{"kind":"Field","name":{"kind":"Name","value":"width"}},{"kind":"Field","name":{"kind":"Name","value":"height"}},{"kind":"Field","name":{"kind":"Name","value":"generated"}},{"kind":"Field","name":{"kind":"Name","value":"sha256"}},{"kind":"Field","name":{"kind":"Name","value":"service"}},{"kind":"Field","name":{"kind":"Name","value":"replicationStatus"}},{"kind":"Field","name":{"kind":"Name","value":"displayUrl"}},{"kind":"Field","name":{"kind":"Name","value":"fallbackUrl"}},{"kind":"Field","name":{"kind":"Name","value":"cloudUrl"}},{"kind":"Field","name":{"kind":"Name","value":"localUrl"}},{"kind":"Field","name":{"kind":"Name","value":"thumbnailUrl"}},{"kind":"Field","name":{"kind":"Name","value":"placeholder"}},{"kind":"Field","name":{"kind":"Name","value":"uploadedAt"}},{"kind":"Field","name":{"kind":"Name","value":"cloudAlteredAt"}}]}}]} as unknown as DocumentNode<ImageFieldsFragment, unknown>;
export const CreateConversationDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateConversation"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateConversationInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createConversation"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"title"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"imageCount"}}]}}]}}]} as unknown as DocumentNode<CreateConversationMutation, CreateConversationMutationVariables>;
export const PostMessageDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"PostMessage"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"PostMessageInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"postMessage"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"conversationId"}},{"kind":"Field","name":{"kind":"Name","value":"role"}},{"kind":"Field","name":{"kind":"Name","value":"content"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"conversation"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}},{"kind":"Field","name":{"kind":"Name","value":"images"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}}]}}]} as unknown as DocumentNode<PostMessageMutation, PostMessageMutationVariables>;
export const ConversationDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Conversation"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"conversation"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"title"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"imageCount"}},{"kind":"Field","name":{"kind":"Name","value":"messages"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"role"}},{"kind":"Field","name":{"kind":"Name","value":"content"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<ConversationQuery, ConversationQueryVariables>;
export const ConversationsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Conversations"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"conversations"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"title"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]}}]}}]}}]} as unknown as DocumentNode<ConversationsQuery, ConversationsQueryVariables>;
export const ConversationsWithMessagesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ConversationsWithMessages"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"messagesFirst"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"conversations"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"title"}},{"kind":"Field","name":{"kind":"Name","value":"imageCount"}},{"kind":"Field","name":{"kind":"Name","value":"messages"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"messagesFirst"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"role"}},{"kind":"Field","name":{"kind":"Name","value":"content"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"images"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ImageFields"}}]}}]}}]}}]}}]}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImageFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Image"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"messageId"}},{"kind":"Field","name":{"kind":"Name","value":"conversationId"}},{"kind":"Field","name":{"kind":"Name","value":"caption"}},{"kind":"Field","name":{"kind":"Name","value":"mimeType"}},{"kind":"Field","name":{"kind":"Name","value":"size"}},{"kind":"Field","name":{"kind":"Name","value":"width"}},{"kind":"Field","name":{"kind":"Name","value":"height"}},{"kind":"Field","name":{"kind":"Name","value":"generated"}},{"kind":"Field","name":{"kind":"Name","value":"sha256"}},{"kind":"Field","name":{"kind":"Name","value":"service"}},{"kind":"Field","name":{"kind":"Name","value":"replicationStatus"}},{"kind":"Field","name":{"kind":"Name","value":"displayUrl"}},{"kind":"Field","name":{"kind":"Name","value":"fallbackUrl"}},{"kind":"Field","name":{"kind":"Name","value":"cloudUrl"}},{"kind":"Field","name":{"kind":"Name","value":"localUrl"}},{"kind":"Field","name":{"kind":"Name","value":"thumbnailUrl"}},{"kind":"Field","name":{"kind":"Name","value":"placeholder"}},{"kind":"Field","name":{"kind":"Name","value":"uploadedAt"}},{"kind":"Field","name":{"kind":"Name","value":"cloudAlteredAt"}}]}}]} as unknown as DocumentNode<ConversationsWithMessagesQuery, ConversationsWithMessagesQueryVariables>;
export const MessageDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Message"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"conversationId"}},{"kind":"Field","name":{"kind":"Name","value":"role"}},{"kind":"Field","name":{"kind":"Name","value":"content"}},{"kind":"Field","name":{"kind":"Name","value":"conversation"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}},{"kind":"Field","name":{"kind":"Name","value":"images"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ImageFields"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImageFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Image"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"messageId"}},{"kind":"Field","name":{"kind":"Name","value":"conversationId"}},{"kind":"Field","name":{"kind":"Name","value":"caption"}},{"kind":"Field","name":{"kind":"Name","value":"mimeType"}},{"kind":"Field","name":{"kind":"Name","value":"size"}},{"kind":"Field","name":{"kind":"Name","value":"width"}},{"kind":"Field","name":{"kind":"Name","value":"height"}},{"kind":"Field","name":{"kind":"Name","value":"generated"}},{"kind":"Field","name":{"kind":"Name","value":"sha256"}},{"kind":"Field","name":{"kind":"Name","value":"service"}},{"kind":"Field","name":{"kind":"Name","value":"replicationStatus"}},{"kind":"Field","name":{"kind":"Name","value":"displayUrl"}},{"kind":"Field","name":{"kind":"Name","value":"fallbackUrl"}},{"kind":"Field","name":{"kind":"Name","value":"cloudUrl"}},{"kind":"Field","name":{"kind":"Name","value":"localUrl"}},{"kind":"Field","name":{"kind":"Name","value":"thumbnailUrl"}},{"kind":"Field","name":{"kind":"Name","value":"placeholder"}},{"kind":"Field","name":{"kind":"Name","value":"uploadedAt"}},{"kind":"Field","name":{"kind":"Name","value":"cloudAlteredAt"}}]}}]} as unknown as DocumentNode<MessageQuery, MessageQueryVariables>;
export const ImageDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Image"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"image"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ImageFields"}},{"kind":"Field","name":{"kind":"Name","value":"message"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"conversation"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImageFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Image"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"messageId"}},{"kind":"Field","name":{"kind":"Name","value":"conversationId"}},{"kind":"Field","name":{"kind":"Name","value":"caption"}},{"kind":"Field","name":{"kind":"Name","value":"mimeType"}},{"kind":"Field","name":{"kind":"Name","value":"size"}},{"kind":"Field","name":{"kind":"Name","value":"width"}},{"kind":"Field","name":{"kind":"Name","value":"height"}},{"kind":"Field","name":{"kind":"Name","value":"generated"}},{"kind":"Field","name":{"kind":"Name","value":"sha256"}},{"kind":"Field","name":{"kind":"Name","value":"service"}},{"kind":"Field","name":{"kind":"Name","value":"replicationStatus"}},{"kind":"Field","name":{"kind":"Name","value":"displayUrl"}},{"kind":"Field","name":{"kind":"Name","value":"fallbackUrl"}},{"kind":"Field","name":{"kind":"Name","value":"cloudUrl"}},{"kind":"Field","name":{"kind":"Name","value":"localUrl"}},{"kind":"Field","name":{"kind":"Name","value":"thumbnailUrl"}},{"kind":"Field","name":{"kind":"Name","value":"placeholder"}},{"kind":"Field","name":{"kind":"Name","value":"uploadedAt"}},{"kind":"Field","name":{"kind":"Name","value":"cloudAlteredAt"}}]}}]} as unknown as DocumentNode<ImageQuery, ImageQueryVariables>;
export const ImagesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Images"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ImageFilter"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"images"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ImageFields"}}]}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImageFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Image"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"messageId"}},{"kind":"Field","name":{"kind":"Name","value":"conversationId"}},{"kind":"Field","name":{"kind":"Name","value":"caption"}},{"kind":"Field","name":{"kind":"Name","value":"mimeType"}},{"kind":"Field","name":{"kind":"Name","value":"size"}},{"kind":"Field","name":{"kind":"Name","value":"width"}},{"kind":"Field","name":{"kind":"Name","value":"height"}},{"kind":"Field","name":{"kind":"Name","value":"generated"}},{"kind":"Field","name":{"kind":"Name","value":"sha256"}},{"kind":"Field","name":{"kind":"Name","value":"service"}},{"kind":"Field","name":{"kind":"Name","value":"replicationStatus"}},{"kind":"Field","name":{"kind":"Name","value":"displayUrl"}},{"kind":"Field","name":{"kind":"Name","value":"fallbackUrl"}},{"kind":"Field","name":{"kind":"Name","value":"cloudUrl"}},{"kind":"Field","name":{"kind":"Name","value":"localUrl"}},{"kind":"Field","name":{"kind":"Name","value":"thumbnailUrl"}},{"kind":"Field","name":{"kind":"Name","value":"placeholder"}},{"kind":"Field","name":{"kind":"Name","value":"uploadedAt"}},{"kind":"Field","name":{"kind":"Name","value":"cloudAlteredAt"}}]}}]} as unknown as DocumentNode<ImagesQuery, ImagesQueryVariables>;
export const StorageStatsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"StorageStats"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"storageStats"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"imageCount"}},{"kind":"Field","name":{"kind":"Name","value":"totalBytes"}},{"kind":"Field","name":{"kind":"Name","value":"localBytes"}},{"kind":"Field","name":{"kind":"Name","value":"pendingReplication"}},{"kind":"Field","name":{"kind":"Name","value":"byService"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"service"}},{"kind":"Field","name":{"kind":"Name","value":"count"}},{"kind":"Field","name":{"kind":"Name","value":"bytes"}}]}}]}}]}}]} as unknown as DocumentNode<StorageStatsQuery, StorageStatsQueryVariables>;
export const DeleteImageDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DeleteImage"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deleteImage"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deletedImageId"}},{"kind":"Field","name":{"kind":"Name","value":"localDeleted"}},{"kind":"Field","name":{"kind":"Name","value":"cloudDeleted"}}]}}]}}]} as unknown as DocumentNode<DeleteImageMutation, DeleteImageMutationVariables>;
export const RestoreImagesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"RestoreImages"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"RestoreImagesInput"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"restoreImages"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"scanned"}},{"kind":"Field","name":{"kind":"Name","value":"restored"}},{"kind":"Field","name":{"kind":"Name","value":"alreadyPresent"}},{"kind":"Field","name":{"kind":"Name","value":"noCloudCopy"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}},{"kind":"Field","name":{"kind":"Name","value":"failures"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"imageId"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}}]}},{"kind":"Field","name":{"kind":"Name","value":"thumbnailsRegenerated"}},{"kind":"Field","name":{"kind":"Name","value":"cloudOnly"}},{"kind":"Field","name":{"kind":"Name","value":"lost"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"imageId"}},{"kind":"Field","name":{"kind":"Name","value":"conversationId"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}}]}}]}}]}}]} as unknown as DocumentNode<RestoreImagesMutation, RestoreImagesMutationVariables>;
export const CleanupLocalImagesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CleanupLocalImages"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CleanupInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cleanupLocalImages"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deleted"}},{"kind":"Field","name":{"kind":"Name","value":"thumbnailsDeleted"}},{"kind":"Field","name":{"kind":"Name","value":"keptNoCloudCopy"}},{"kind":"Field","name":{"kind":"Name","value":"verifiedCloudCopies"}},{"kind":"Field","name":{"kind":"Name","value":"keptUnverifiedCloudCopy"}},{"kind":"Field","name":{"kind":"Name","value":"alteredCloudCopies"}},{"kind":"Field","name":{"kind":"Name","value":"bytesFreed"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}}]}}]}}]} as unknown as DocumentNode<CleanupLocalImagesMutation, CleanupLocalImagesMutationVariables>;
export const ProvidersDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Providers"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"providers"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"enabled"}},{"kind":"Field","name":{"kind":"Name","value":"circuit"}},{"kind":"Field","name":{"kind":"Name","value":"uploads"}},{"kind":"Field","name":{"kind":"Name","value":"failures"}},{"kind":"Field","name":{"kind":"Name","value":"lastError"}},{"kind":"Field","name":{"kind":"Name","value":"misconfigured"}},{"kind":"Field","name":{"kind":"Name","value":"budget"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"limit"}},{"kind":"Field","name":{"kind":"Name","value":"per"}},{"kind":"Field","name":{"kind":"Name","value":"used"}},{"kind":"Field","name":{"kind":"Name","value":"resetsAt"}}]}}]}}]}}]} as unknown as DocumentNode<ProvidersQuery, ProvidersQueryVariables>;
export const RequeueImageReplicationDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"RequeueImageReplication"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"requeueImageReplication"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"replicationStatus"}},{"kind":"Field","name":{"kind":"Name","value":"service"}}]}}]}}]} as unknown as DocumentNode<RequeueImageReplicationMutation, RequeueImageReplicationMutationVariables>;
export const RequeueLocalOnlyImagesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"RequeueLocalOnlyImages"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"dryRun"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Boolean"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"requeueLocalOnlyImages"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"dryRun"},"value":{"kind":"Variable","name":{"kind":"Name","value":"dryRun"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"scanned"}},{"kind":"Field","name":{"kind":"Name","value":"queued"}}]}}]}}]} as unknown as DocumentNode<RequeueLocalOnlyImagesMutation, RequeueLocalOnlyImagesMutationVariables>;
export const UploadImageDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"UploadImage"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UploadImageInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"uploadImage"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"image"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ImageFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"message"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"conversationId"}},{"kind":"Field","name":{"kind":"Name","value":"role"}},{"kind":"Field","name":{"kind":"Name","value":"content"}},{"kind":"Field","name":{"kind":"Name","value":"images"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImageFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Image"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"messageId"}},{"kind":"Field","name":{"kind":"Name","value":"conversationId"}},{"kind":"Field","name":{"kind":"Name","value":"caption"}},{"kind":"Field","name":{"kind":"Name","value":"mimeType"}},{"kind":"Field","name":{"kind":"Name","value":"size"}},{"kind":"Field","name":{"kind":"Name","value":"width"}},{"kind":"Field","name":{"kind":"Name","value":"height"}},{"kind":"Field","name":{"kind":"Name","value":"generated"}},{"kind":"Field","name":{"kind":"Name","value":"sha256"}},{"kind":"Field","name":{"kind":"Name","value":"service"}},{"kind":"Field","name":{"kind":"Name","value":"replicationStatus"}},{"kind":"Field","name":{"kind":"Name","value":"displayUrl"}},{"kind":"Field","name":{"kind":"Name","value":"fallbackUrl"}},{"kind":"Field","name":{"kind":"Name","value":"cloudUrl"}},{"kind":"Field","name":{"kind":"Name","value":"localUrl"}},{"kind":"Field","name":{"kind":"Name","value":"thumbnailUrl"}},{"kind":"Field","name":{"kind":"Name","value":"placeholder"}},{"kind":"Field","name":{"kind":"Name","value":"uploadedAt"}},{"kind":"Field","name":{"kind":"Name","value":"cloudAlteredAt"}}]}}]} as unknown as DocumentNode<UploadImageMutation, UploadImageMutationVariables>;
export const PostMessageWithImagesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"PostMessageWithImages"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"PostMessageInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"postMessage"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"content"}},{"kind":"Field","name":{"kind":"Name","value":"images"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ImageFields"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ImageFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Image"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"messageId"}},{"kind":"Field","name":{"kind":"Name","value":"conversationId"}},{"kind":"Field","name":{"kind":"Name","value":"caption"}},{"kind":"Field","name":{"kind":"Name","value":"mimeType"}},{"kind":"Field","name":{"kind":"Name","value":"size"}},{"kind":"Field","name":{"kind":"Name","value":"width"}},{"kind":"Field","name":{"kind":"Name","value":"height"}},{"kind":"Field","name":{"kind":"Name","value":"generated"}},{"kind":"Field","name":{"kind":"Name","value":"sha256"}},{"kind":"Field","name":{"kind":"Name","value":"service"}},{"kind":"Field","name":{"kind":"Name","value":"replicationStatus"}},{"kind":"Field","name":{"kind":"Name","value":"displayUrl"}},{"kind":"Field","name":{"kind":"Name","value":"fallbackUrl"}},{"kind":"Field","name":{"kind":"Name","value":"cloudUrl"}},{"kind":"Field","name":{"kind":"Name","value":"localUrl"}},{"kind":"Field","name":{"kind":"Name","value":"thumbnailUrl"}},{"kind":"Field","name":{"kind":"Name","value":"placeholder"}},{"kind":"Field","name":{"kind":"Name","value":"uploadedAt"}},{"kind":"Field","name":{"kind":"Name","value":"cloudAlteredAt"}}]}}]} as unknown as DocumentNode<PostMessageWithImagesMutation, PostMessageWithImagesMutationVariables>;