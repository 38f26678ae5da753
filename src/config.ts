import { z } from 'zod';
import { parseBudget, type BudgetSpec } from './cloud/budget.js';
import type { ProviderSetting } from './cloud/provider.js';

/**
 * Every environment variable the server reads, validated once at start. A bad value stops
 * the server with one line naming the variable, what is wrong and what is accepted.
 * The names in docs/api.md are binding; the ones marked "added" are this project's own.
 */

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, `expected a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, `expected a whole number from ${min} to ${max}`)
        .max(max, `expected a whole number from ${min} to ${max}`),
    );

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' }))
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const httpUrl = z
  .string()
  .trim()
  .pipe(z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }));

const nonEmpty = z.string().trim().min(1, 'expected a non-empty value');

/** `<uploads>/<window>` or `off` (src/cloud/budget.ts). */
const budget = z.string().transform((s, ctx): BudgetSpec | null => {
  const parsed = parseBudget(s);
  if (typeof parsed !== 'string') return parsed;
  ctx.addIssue({ code: 'custom', message: parsed });
  return z.NEVER;
});

const PROVIDERS = ['postimages', 'imgbb', 's3'] as const satisfies readonly ProviderSetting[];

const providerList = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((p) => p.trim().toLowerCase())
      .filter(Boolean),
  )
  .pipe(
    z
      .array(z.enum(PROVIDERS, { error: `expected a comma-separated list of ${PROVIDERS.join(', ')}` }))
      .refine((a) => new Set(a).size === a.length, 'a provider is named twice'),
  );

const hostList = z.string().transform((s) =>
  s
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean),
);

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const schema = z.object({
  NODE_ENV: z
    .enum(['development', 'production', 'test'], { error: 'expected development, production or test' })
    .default('development'),
  PORT: int(0, 65535).default(4000),
  HOST: nonEmpty.default('127.0.0.1'),
  PUBLIC_BASE_URL: httpUrl.optional(),
  MONGODB_URI: z
    .string()
    .trim()
    .regex(/^mongodb(\+srv)?:\/\//, 'expected a mongodb:// or mongodb+srv:// connection string')
    .optional(),
  MONGODB_DB: nonEmpty.default('chatbot'),
  SQLITE_PATH: nonEmpty.default('./data/metadata.sqlite'),
  /** added: how long a write waits, off the event loop, for another process's SQLite lock. */
  SQLITE_BUSY_TIMEOUT_MS: int(0, 600_000).default(5000),
  STORAGE_DIR: nonEmpty.default('./storage'),
  FILE_URL_SECRET: z.string().min(32, 'expected at least 32 characters (for example: openssl rand -hex 32)').optional(),
  AUTH_JWT_SECRET: z.string().min(32, 'expected at least 32 characters for an HS256 secret').optional(),
  AUTH_JWKS_URL: httpUrl.optional(),
  /** added: expected `iss` and `aud` claims, checked when set. */
  AUTH_JWT_ISSUER: nonEmpty.optional(),
  AUTH_JWT_AUDIENCE: nonEmpty.optional(),
  /** added: refuse tokens issued (`iat`) longer ago than this, whatever their `exp`. */
  AUTH_JWT_MAX_AGE_SECONDS: int(1, 366 * 86_400).optional(),
  /** added: bearer token for GET /metrics; unset serves it openly in development and not at all in production. */
  METRICS_TOKEN: z.string().min(16, 'expected at least 16 characters (for example: openssl rand -hex 16)').optional(),
  /** s3 leads: it is skipped (reported disabled) until S3_BUCKET is set; the free hosts until their keys are. */
  CLOUD_PROVIDERS: providerList.default(['s3', 'postimages', 'imgbb']),
  /** added: uploads per window each provider may be sent (budget.ts); the defaults stay under the free hosts' limits. */
  POSTIMAGES_BUDGET: budget.default({ limit: 90, per: 'hour' }),
  IMGBB_BUDGET: budget.default({ limit: 4500, per: 'month' }),
  S3_BUDGET: budget.default(null),
  POSTIMAGES_API_KEY: nonEmpty.optional(),
  POSTIMAGES_API_URL: httpUrl.default('https://api.postimage.org/1/upload'),
  IMGBB_API_KEY: nonEmpty.optional(),
  IMGBB_API_URL: httpUrl.default('https://api.imgbb.com/1/upload'),
  IMGBB_EXPIRATION: int(60, 15_552_000).optional(),
  /** added: the s3 provider (any S3-compatible bucket); enabled by CLOUD_PROVIDERS=s3,… and S3_BUCKET. */
  S3_BUCKET: z
    .string()
    .trim()
    .regex(
      /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
      'expected an S3 bucket name: 3 to 63 lower-case letters, digits, dots or hyphens',
    )
    .optional(),
  S3_REGION: nonEmpty.default('us-east-1'),
  S3_ENDPOINT: httpUrl.optional(),
  S3_FORCE_PATH_STYLE: bool.optional(),
  S3_ACCESS_KEY_ID: nonEmpty.optional(),
  S3_SECRET_ACCESS_KEY: nonEmpty.optional(),
  S3_KEY_PREFIX: z
    .string()
    .trim()
    .regex(/^(?:[A-Za-z0-9!_.*'()-]+\/)*$/, 'expected a key prefix such as "images/" (path segments, each ending in /)')
    .default(''),
  S3_PUBLIC_BASE_URL: httpUrl.optional(),
  /** added: lifetime of the presigned GET URLs of a private bucket (no S3_PUBLIC_BASE_URL); SigV4 allows 7 days. */
  S3_PRESIGN_TTL_SECONDS: int(60, 604_800).default(3600),
  CLOUD_TIMEOUT_MS: int(100, 600_000).default(15_000),
  MAX_UPLOAD_BYTES: int(1, 1024 * 1024 * 1024).default(52_428_800),
  MAX_INPUT_PIXELS: int(1, 1_000_000_000).default(100_000_000),
  /** added: processing time one image may take before it is refused (PAYLOAD_TOO_LARGE). */
  IMAGE_PROCESS_TIMEOUT_SECONDS: int(1, 600).default(10),
  MAX_FILES: int(1, 100).default(10),
  IMAGE_MAX_KB: int(10, 100_000).default(500),
  THUMBNAIL_SIZE: int(16, 2048).default(256),
  /** added: the display ceiling: stills with a longer edge are stored scaled down to it; 0 keeps every size. */
  IMAGE_MAX_DIMENSION: int(0, 65_535).default(2048),
  /** added: keep an opaque PNG as PNG when its lossless re-encoding fits IMAGE_MAX_KB (diagrams that must stay exact), instead of JPEG. */
  IMAGE_KEEP_PNG: bool.default(false),
  RESTORE_ALLOWED_HOSTS: hostList.optional(),
  /** added: downloads restore runs at once, and the bound on each download. */
  RESTORE_CONCURRENCY: int(1, 64).default(8),
  RESTORE_TIMEOUT_MS: int(100, 3_600_000).default(60_000),
  LOCAL_RETENTION_DAYS: int(1, 36_500).optional(),
  // The seed chatbot's documents may name no owner at all (a message without user_id whose
  // conversation has none): this user claims them. Unset, they are reported and never guessed.
  LEGACY_DEFAULT_OWNER: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9._:@|-]{1,128}$/, 'expected a user id: 1 to 128 letters, digits or ._:@|-')
    .optional(),
  RECONCILE_INTERVAL_MINUTES: int(1, 525_600).optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  /** added: the GraphQL limits, the JSON body limit and the shutdown bound. */
  MAX_QUERY_DEPTH: int(2, 100).default(12),
  MAX_QUERY_COMPLEXITY: int(10, 10_000_000).default(100_000),
  /** added: default fits a base64 image of MAX_UPLOAD_BYTES (4/3 of it) plus 1 MB of query. */
  MAX_JSON_BODY_BYTES: int(1024, 2 * 1024 * 1024 * 1024).optional(),
  /** added: an upload that sends nothing for this long is abandoned. */
  UPLOAD_IDLE_TIMEOUT_MS: int(100, 600_000).default(30_000),
  GRAPHQL_INTROSPECTION: bool.optional(),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),
  /** added: live updates (subscriptions over WebSocket at /graphql). */
  SUBSCRIPTIONS_PER_CONNECTION: int(1, 1000).default(20),
  SUBSCRIPTIONS_PER_USER: int(1, 100_000).default(100),
  WS_MAX_CONNECTIONS: int(1, 1_000_000).default(10_000),
  /** added: so that one user's connections cannot use up WS_MAX_CONNECTIONS for everyone. */
  WS_CONNECTIONS_PER_USER: int(1, 100_000).default(20),
  /** added: a connection with no subscription for this long is closed. */
  WS_IDLE_TIMEOUT_SECONDS: int(1, 86_400).default(300),
  /** added: how often each server looks for changes other servers wrote (SQLite; MongoDB waits on a tailable cursor). */
  CHANGES_POLL_MS: int(10, 60_000).default(50),
  /** added: lifetime of signed local URLs. */
  FILE_URL_TTL_SECONDS: int(60, 7 * 86_400).default(3600),
  /** added: behind nginx, /files answers with X-Accel-Redirect to this internal location. */
  FILES_ACCEL_REDIRECT_PREFIX: z
    .string()
    .trim()
    .regex(
      /^(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9._~-]+)+\/?$/,
      'expected an absolute path such as /_protected (nginx internal location)',
    )
    .optional(),
  /** added: the seed chatbot's /static/Storage/<folder>/<name> links (302 to the cloud copy, or the owner's file). */
  LEGACY_STATIC_LINKS: bool.optional(),
  /** added: replication tuning. */
  REPLICATION_MAX_ATTEMPTS: int(1, 1000).default(10),
  REPLICATION_BACKOFF_BASE_MS: int(10, 86_400_000).default(30_000),
  REPLICATION_BACKOFF_CAP_SECONDS: int(1, 7 * 86_400).default(3600),
  REPLICATION_POLL_MS: int(50, 3_600_000).default(5000),
  /** unset: long enough for a whole chain run (3 × timeout × attempts × providers, at least a minute). */
  REPLICATION_LEASE_MS: int(100, 86_400_000).optional(),
  CLOUD_ATTEMPTS: int(1, 10).default(2),
  CIRCUIT_BREAK_AFTER: int(1, 100).default(3),
  CIRCUIT_HALF_OPEN_SECONDS: int(1, 3600).default(30),
  /** added: comma-separated origins allowed by CORS; unset allows none (same-origin only). */
  CORS_ORIGINS: hostList.optional(),
});

type Env = z.output<typeof schema>;

export interface Config {
  env: Env['NODE_ENV'];
  isProduction: boolean;
  port: number;
  host: string;
  publicBaseUrl: string;
  mongo: { uri: string; dbName: string } | null;
  sqlitePath: string;
  sqliteBusyTimeoutMs: number;
  storageDir: string;
  /** Null means: generate once and keep under ./data (refused in production). */
  fileUrlSecret: string | null;
  fileUrlTtlSeconds: number;
  /** Behind nginx: /files answers with X-Accel-Redirect to this internal location instead of the bytes. */
  filesAccelRedirectPrefix: string | null;
  /** GET /static/Storage/... answers the seed chatbot's old links (src/http/legacy-static-route.ts). */
  legacyStaticLinks: boolean;
  auth:
    | {
        mode: 'jwt';
        secret: string | null;
        jwksUrl: string | null;
        issuer: string | null;
        audience: string | null;
        maxTokenAgeSeconds: number | null;
      }
    | { mode: 'dev' };
  cloud: {
    providers: ProviderSetting[];
    postimages: { apiKey: string | null; apiUrl: string };
    imgbb: { apiKey: string | null; apiUrl: string; expirationSeconds: number | null };
    /** Uploads per window each provider may be sent; null: no budget. */
    budgets: Record<ProviderSetting, BudgetSpec | null>;
    /** Null unless S3_BUCKET is set. */
    s3: {
      bucket: string;
      region: string;
      endpoint: string | null;
      forcePathStyle: boolean;
      credentials: { accessKeyId: string; secretAccessKey: string } | null;
      keyPrefix: string;
      /** Null: a private bucket, shown through presigned GET URLs made at read time. */
      publicBaseUrl: string | null;
      presignTtlSeconds: number;
    } | null;
    timeoutMs: number;
    attempts: number;
    breakAfter: number;
    halfOpenAfterMs: number;
  };
  replication: {
    maxAttempts: number;
    backoffBaseMs: number;
    backoffCapMs: number;
    pollMs: number;
    leaseMs: number | null;
  };
  limits: {
    maxUploadBytes: number;
    maxInputPixels: number;
    imageProcessTimeoutSeconds: number;
    maxFiles: number;
    imageMaxKb: number;
    thumbnailSize: number;
    /** Long edge stills are scaled down to (IMAGE_MAX_DIMENSION); 0: none. */
    maxDimension: number;
    /** IMAGE_KEEP_PNG: opaque PNGs stay PNG when they fit. */
    keepPng: boolean;
    maxQueryDepth: number;
    maxQueryComplexity: number;
    maxJsonBodyBytes: number;
    uploadIdleTimeoutMs: number;
  };
  restoreAllowedHosts: string[] | null;
  restoreConcurrency: number;
  restoreTimeoutMs: number;
  localRetentionDays: number | null;
  /** Owner of legacy documents that name none (LEGACY_DEFAULT_OWNER); null: they stay ownerless and are reported. */
  legacyDefaultOwner: string | null;
  reconcileIntervalMinutes: number | null;
  logLevel: Env['LOG_LEVEL'];
  introspection: boolean;
  /** GET /metrics: `open` to anyone (development default), behind a bearer `token`, or `off`. */
  metrics: { mode: 'open' } | { mode: 'token'; token: string } | { mode: 'off' };
  shutdownTimeoutMs: number;
  corsOrigins: string[];
  subscriptions: {
    perConnection: number;
    perUser: number;
    maxConnections: number;
    connectionsPerUser: number;
    idleTimeoutMs: number;
    pollMs: number;
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validate the environment. Throws ConfigError with one line per problem. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings are treated as unset, as shells and .env files often leave them.
  const raw = Object.fromEntries(
    Object.keys(schema.shape).flatMap((k) => {
      const v = source[k];
      return v === undefined || v === '' ? [] : [[k, v]];
    }),
  );
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '');
      const value = raw[name];
      const shown = name.includes('SECRET') || name.includes('KEY') ? '(hidden)' : JSON.stringify(value);
      return `Invalid configuration: ${name}=${shown}: ${issue.message}`;
    });
    throw new ConfigError(lines.join('\n'));
  }
  const e = parsed.data;
  const isProduction = e.NODE_ENV === 'production';
  const jwt = e.AUTH_JWT_SECRET !== undefined || e.AUTH_JWKS_URL !== undefined;
  if (isProduction && !jwt) {
    throw new ConfigError(
      'Invalid configuration: AUTH_JWT_SECRET and AUTH_JWKS_URL are both unset: NODE_ENV=production requires one of them (dev identity mode trusts X-User-Id and is refused in production)',
    );
  }
  if ((e.S3_ACCESS_KEY_ID === undefined) !== (e.S3_SECRET_ACCESS_KEY === undefined)) {
    throw new ConfigError(
      "Invalid configuration: S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together: set both, or neither to use the AWS SDK's default credential chain",
    );
  }
  if (isProduction && e.FILE_URL_SECRET === undefined) {
    throw new ConfigError(
      'Invalid configuration: FILE_URL_SECRET is unset: NODE_ENV=production requires a secret of at least 32 characters shared by every instance',
    );
  }
  return {
    env: e.NODE_ENV,
    isProduction,
    port: e.PORT,
    host: e.HOST,
    publicBaseUrl: (e.PUBLIC_BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    mongo: e.MONGODB_URI ? { uri: e.MONGODB_URI, dbName: e.MONGODB_DB } : null,
    sqlitePath: e.SQLITE_PATH,
    sqliteBusyTimeoutMs: e.SQLITE_BUSY_TIMEOUT_MS,
    storageDir: e.STORAGE_DIR,
    fileUrlSecret: e.FILE_URL_SECRET ?? null,
    fileUrlTtlSeconds: e.FILE_URL_TTL_SECONDS,
    filesAccelRedirectPrefix: e.FILES_ACCEL_REDIRECT_PREFIX ?? null,
    legacyStaticLinks: e.LEGACY_STATIC_LINKS ?? true,
    auth: jwt
      ? {
          mode: 'jwt',
          secret: e.AUTH_JWT_SECRET ?? null,
          jwksUrl: e.AUTH_JWKS_URL ?? null,
          issuer: e.AUTH_JWT_ISSUER ?? null,
          audience: e.AUTH_JWT_AUDIENCE ?? null,
          maxTokenAgeSeconds: e.AUTH_JWT_MAX_AGE_SECONDS ?? null,
        }
      : { mode: 'dev' },
    cloud: {
      providers: e.CLOUD_PROVIDERS,
      postimages: { apiKey: e.POSTIMAGES_API_KEY ?? null, apiUrl: e.POSTIMAGES_API_URL },
      imgbb: {
        apiKey: e.IMGBB_API_KEY ?? null,
        apiUrl: e.IMGBB_API_URL,
        expirationSeconds: e.IMGBB_EXPIRATION ?? null,
      },
      budgets: { postimages: e.POSTIMAGES_BUDGET, imgbb: e.IMGBB_BUDGET, s3: e.S3_BUDGET },
      s3:
        e.S3_BUCKET === undefined
          ? null
          : {
              bucket: e.S3_BUCKET,
              region: e.S3_REGION,
              endpoint: e.S3_ENDPOINT ?? null,
              forcePathStyle: e.S3_FORCE_PATH_STYLE ?? false,
              credentials:
                e.S3_ACCESS_KEY_ID && e.S3_SECRET_ACCESS_KEY
                  ? { accessKeyId: e.S3_ACCESS_KEY_ID, secretAccessKey: e.S3_SECRET_ACCESS_KEY }
                  : null,
              keyPrefix: e.S3_KEY_PREFIX,
              publicBaseUrl: e.S3_PUBLIC_BASE_URL ? e.S3_PUBLIC_BASE_URL.replace(/\/+$/, '') : null,
              presignTtlSeconds: e.S3_PRESIGN_TTL_SECONDS,
            },
      timeoutMs: e.CLOUD_TIMEOUT_MS,
      attempts: e.CLOUD_ATTEMPTS,
      breakAfter: e.CIRCUIT_BREAK_AFTER,
      halfOpenAfterMs: e.CIRCUIT_HALF_OPEN_SECONDS * 1000,
    },
    replication: {
      maxAttempts: e.REPLICATION_MAX_ATTEMPTS,
      backoffBaseMs: e.REPLICATION_BACKOFF_BASE_MS,
      backoffCapMs: e.REPLICATION_BACKOFF_CAP_SECONDS * 1000,
      pollMs: e.REPLICATION_POLL_MS,
      leaseMs: e.REPLICATION_LEASE_MS ?? null,
    },
    limits: {
      maxUploadBytes: e.MAX_UPLOAD_BYTES,
      maxInputPixels: e.MAX_INPUT_PIXELS,
      imageProcessTimeoutSeconds: e.IMAGE_PROCESS_TIMEOUT_SECONDS,
      maxFiles: e.MAX_FILES,
      imageMaxKb: e.IMAGE_MAX_KB,
      thumbnailSize: e.THUMBNAIL_SIZE,
      maxDimension: e.IMAGE_MAX_DIMENSION,
      keepPng: e.IMAGE_KEEP_PNG,
      maxQueryDepth: e.MAX_QUERY_DEPTH,
      maxQueryComplexity: e.MAX_QUERY_COMPLEXITY,
      maxJsonBodyBytes: e.MAX_JSON_BODY_BYTES ?? Math.ceil((e.MAX_UPLOAD_BYTES * 4) / 3) + 1_048_576,
      uploadIdleTimeoutMs: e.UPLOAD_IDLE_TIMEOUT_MS,
    },
    restoreAllowedHosts: e.RESTORE_ALLOWED_HOSTS ?? null,
    restoreConcurrency: e.RESTORE_CONCURRENCY,
    restoreTimeoutMs: e.RESTORE_TIMEOUT_MS,
    localRetentionDays: e.LOCAL_RETENTION_DAYS ?? null,
    legacyDefaultOwner: e.LEGACY_DEFAULT_OWNER ?? null,
    reconcileIntervalMinutes: e.RECONCILE_INTERVAL_MINUTES ?? null,
    logLevel: e.LOG_LEVEL,
    introspection: e.GRAPHQL_INTROSPECTION ?? !isProduction,
    metrics: e.METRICS_TOKEN
      ? { mode: 'token', token: e.METRICS_TOKEN }
      : isProduction
        ? { mode: 'off' }
        : { mode: 'open' },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    corsOrigins: e.CORS_ORIGINS ?? [],
    subscriptions: {
      perConnection: e.SUBSCRIPTIONS_PER_CONNECTION,
      perUser: e.SUBSCRIPTIONS_PER_USER,
      maxConnections: e.WS_MAX_CONNECTIONS,
      connectionsPerUser: e.WS_CONNECTIONS_PER_USER,
      idleTimeoutMs: e.WS_IDLE_TIMEOUT_SECONDS * 1000,
      pollMs: e.CHANGES_POLL_MS,
    },
  };
}
