import type { Logger } from 'pino';
import type { Viewer } from '../domain/viewer.js';
import type { ChatService } from '../services/chat-service.js';
import type { ImageService } from '../services/image-service.js';
import type { CleanupService } from '../maintenance/cleanup.js';
import type { DeletionService } from '../services/deletion.js';
import type { RestoreService } from '../maintenance/restore.js';
import type { ReplicationService } from '../workers/replication.js';
import type { ProviderHealth } from '../cloud/chain.js';
import type { UrlSigner } from '../files/url-signer.js';
import type { ChangeFeed } from '../events/feed.js';
import type { Loaders } from './loaders.js';

/** What every resolver receives. Built once per request in src/http/app.ts (the `/graphql` route). */
export interface GraphQLContext {
  viewer: Viewer | null;
  requestId: string;
  log: Logger;
  loaders: Loaders;
  chat: ChatService;
  images: ImageService;
  urls: UrlSigner;
  /** A stored cloud URL as a client is shown it (presigned for a private s3 bucket). */
  cloudLink: (url: string) => Promise<string>;
  providers: () => Promise<ProviderHealth[]>;
  /** Absent when no provider is enabled. */
  replication: ReplicationService | undefined;
  deletion: DeletionService;
  restore: RestoreService;
  cleanup: CleanupService;
  /** Live changes of conversations, for subscriptions (src/events/feed.ts). */
  feed: ChangeFeed;
}

/**
 * Makes the context of one operation from its viewer, request id and logger, as one object
 * literal. (A spread of the shared services with these three added after it gave every request's
 * context new hidden classes, which V8 allocates in the old generation: it keeps no transitions
 * for a spread's copy.)
 */
export type MakeContext = (request: Pick<GraphQLContext, 'viewer' | 'requestId' | 'log'>) => GraphQLContext;
