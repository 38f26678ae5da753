import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { ProviderChain } from '../cloud/chain.js';
import type { FileSweeping, LocalFiles } from '../files/ports.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import type { ReplicationService } from '../workers/replication.js';
import { ORPHAN_MIN_AGE_MS, sweepOrphanFiles } from './orphan-sweep.js';

/**
 * What a server does once as it starts. Temp files older than an hour belong to uploads that
 * died with an earlier process: they go before the server listens. The orphan sweep and, on
 * MongoDB, the count of images no one owns run in the background (they must not delay the
 * start); the promise returned settles when both have, and never rejects: failures are logged.
 */
export async function runStartupPasses(o: {
  files: LocalFiles & FileSweeping;
  store: MetadataStore;
  clock: () => Date;
  log: Logger;
}): Promise<{ settled: Promise<void> }> {
  const { files, store, log } = o;
  await files.cleanupTemp(ORPHAN_MIN_AGE_MS);
  const sweeping = sweepOrphanFiles({ files, store, now: o.clock(), olderThanMs: ORPHAN_MIN_AGE_MS, log }).then(
    (r) =>
      log.info(
        { scanned: r.scanned, removed: r.removed.length, unrecorded: r.unrecorded.length, failed: r.failed },
        'orphan file sweep finished',
      ),
    (err: unknown) => log.error({ err }, 'orphan file sweep failed'),
  );
  // The seed chatbot's documents may name no owner at all: said once at start, never guessed.
  const ownerless =
    store.kind === 'mongo'
      ? store.countOwnerlessImages().then(
          (n) => {
            if (n > 0)
              log.warn(
                { ownerlessImages: n },
                'images of messages that name no owner (no user_id on the message nor its conversation): only admins see them; set LEGACY_DEFAULT_OWNER to give them one',
              );
          },
          (err: unknown) => log.warn({ err }, 'counting ownerless images failed'),
        )
      : Promise.resolve();
  return { settled: Promise.all([sweeping, ownerless]).then(() => undefined) };
}

/** The start-up log lines that tell an operator what this configuration means. */
export function announceConfiguration(
  config: Config,
  o: { chain: ProviderChain; replication: ReplicationService | undefined; log: Logger },
): void {
  const { chain, log } = o;
  if (!o.replication)
    log.warn(
      'no cloud provider is configured (an API key, or S3_BUCKET for s3): images are kept locally only (LOCAL_ONLY)',
    );
  else {
    const active = chain.order.map(({ name, budget: b }) =>
      b ? `${name.toLowerCase()} (${b.limit}/${b.per})` : name.toLowerCase(),
    );
    log.info({ providers: chain.names }, `cloud providers, in order: ${active.join(', ')}`);
  }
  if (chain.names.includes('POSTIMAGES')) {
    log.warn(
      "PostImages' terms of use forbid automatic/programmatic uploads (https://postimages.org/terms): use an S3 bucket in production (README: Cloud copies)",
    );
  }
  if (config.auth.mode === 'dev') {
    log.warn(
      'dev identity mode: X-User-Id is trusted without proof. Set AUTH_JWT_SECRET or AUTH_JWKS_URL before exposing this server.',
    );
  }
}
