import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const SECRET = 'x'.repeat(32);

function errorOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c.port).toBe(4000);
    expect(c.host).toBe('127.0.0.1');
    expect(c.publicBaseUrl).toBe('http://localhost:4000');
    expect(c.mongo).toBeNull();
    expect(c.sqlitePath).toBe('./data/metadata.sqlite');
    expect(c.storageDir).toBe('./storage');
    expect(c.auth).toEqual({ mode: 'dev' });
    expect(c.cloud.providers).toEqual(['s3', 'postimages', 'imgbb']);
    expect(c.cloud.postimages.apiUrl).toBe('https://api.postimage.org/1/upload');
    expect(c.cloud.imgbb.apiUrl).toBe('https://api.imgbb.com/1/upload');
    expect(c.cloud.imgbb.expirationSeconds).toBeNull();
    expect(c.cloud.timeoutMs).toBe(15_000);
    expect(c.limits).toMatchObject({
      maxUploadBytes: 52_428_800,
      maxInputPixels: 100_000_000,
      maxFiles: 10,
      imageMaxKb: 500,
      thumbnailSize: 256,
      maxDimension: 2048,
      keepPng: false,
    });
    expect(c.localRetentionDays).toBeNull();
    expect(c.reconcileIntervalMinutes).toBeNull();
    expect(c.logLevel).toBe('info');
    expect(c.introspection).toBe(true);
  });

  it('reads the s3 provider settings, and refuses half credentials, a bad bucket name or prefix', () => {
    expect(loadConfig({}).cloud.s3).toBeNull();
    const base = {
      CLOUD_PROVIDERS: 's3,postimages',
      S3_BUCKET: 'chat-images',
      S3_PUBLIC_BASE_URL: 'https://cdn.example.com/',
    };
    expect(loadConfig(base).cloud).toMatchObject({
      providers: ['s3', 'postimages'],
      s3: {
        bucket: 'chat-images',
        region: 'us-east-1',
        endpoint: null,
        forcePathStyle: false,
        credentials: null,
        keyPrefix: '',
        publicBaseUrl: 'https://cdn.example.com',
        presignTtlSeconds: 3600,
      },
    });
    const full = loadConfig({
      ...base,
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: 'AK',
      S3_SECRET_ACCESS_KEY: 'SK',
      S3_KEY_PREFIX: 'chat/images/',
      S3_REGION: 'auto',
    });
    expect(full.cloud.s3).toMatchObject({
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' },
      keyPrefix: 'chat/images/',
      region: 'auto',
    });
    expect(errorOf({ ...base, S3_ACCESS_KEY_ID: 'AK' })).toMatch(
      /S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together/,
    );
    expect(errorOf({ ...base, S3_BUCKET: 'Bad_Bucket' })).toMatch(/S3_BUCKET.*bucket name/);
    expect(errorOf({ ...base, S3_KEY_PREFIX: 'no-slash' })).toMatch(/S3_KEY_PREFIX/);
    // A private bucket: presigned URLs.
    expect(loadConfig({ S3_BUCKET: 'chat-images', S3_PRESIGN_TTL_SECONDS: '600' }).cloud.s3).toMatchObject({
      publicBaseUrl: null,
      presignTtlSeconds: 600,
    });
    expect(errorOf({ S3_BUCKET: 'chat-images', S3_PRESIGN_TTL_SECONDS: '700000' })).toMatch(/S3_PRESIGN_TTL_SECONDS/);
    expect(errorOf({ CLOUD_PROVIDERS: 's3,ftp' })).toMatch(/postimages, imgbb, s3/);
  });

  it('reads the seed adoption settings, refusing an owner that is no user id', () => {
    expect(loadConfig({})).toMatchObject({ legacyDefaultOwner: null, legacyStaticLinks: true });
    expect(loadConfig({ LEGACY_DEFAULT_OWNER: 'archive', LEGACY_STATIC_LINKS: 'false' })).toMatchObject({
      legacyDefaultOwner: 'archive',
      legacyStaticLinks: false,
    });
    expect(errorOf({ LEGACY_DEFAULT_OWNER: 'a b' })).toMatch(/LEGACY_DEFAULT_OWNER.*user id/);
    expect(errorOf({ LEGACY_STATIC_LINKS: 'maybe' })).toMatch(/LEGACY_STATIC_LINKS.*true or false/);
  });

  it('reads every variable of docs/api.md', () => {
    const c = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      PUBLIC_BASE_URL: 'https://img.example.com/',
      MONGODB_URI: 'mongodb://db:27017',
      MONGODB_DB: 'chat',
      SQLITE_PATH: '/var/lib/his/meta.sqlite',
      STORAGE_DIR: '/srv/storage',
      FILE_URL_SECRET: SECRET,
      AUTH_JWT_SECRET: SECRET,
      CLOUD_PROVIDERS: 'imgbb, PostImages',
      POSTIMAGES_API_KEY: 'pk',
      POSTIMAGES_API_URL: 'http://127.0.0.1:9/up',
      IMGBB_API_KEY: 'ik',
      IMGBB_API_URL: 'http://127.0.0.1:9/imgbb',
      IMGBB_EXPIRATION: '600',
      CLOUD_TIMEOUT_MS: '2500',
      MAX_UPLOAD_BYTES: '1000',
      MAX_INPUT_PIXELS: '2000',
      MAX_FILES: '3',
      IMAGE_MAX_KB: '200',
      THUMBNAIL_SIZE: '128',
      IMAGE_MAX_DIMENSION: '0',
      IMAGE_KEEP_PNG: 'true',
      RESTORE_ALLOWED_HOSTS: 'i.ibb.co, I.POSTIMG.CC',
      LOCAL_RETENTION_DAYS: '30',
      RECONCILE_INTERVAL_MINUTES: '60',
      LOG_LEVEL: 'debug',
    });
    expect(c.port).toBe(8080);
    expect(c.host).toBe('0.0.0.0');
    expect(c.publicBaseUrl).toBe('https://img.example.com');
    expect(c.mongo).toEqual({ uri: 'mongodb://db:27017', dbName: 'chat' });
    expect(c.sqlitePath).toBe('/var/lib/his/meta.sqlite');
    expect(c.storageDir).toBe('/srv/storage');
    expect(c.fileUrlSecret).toBe(SECRET);
    expect(c.auth).toMatchObject({ mode: 'jwt', secret: SECRET, jwksUrl: null });
    expect(c.cloud.providers).toEqual(['imgbb', 'postimages']);
    expect(c.cloud.postimages).toEqual({ apiKey: 'pk', apiUrl: 'http://127.0.0.1:9/up' });
    expect(c.cloud.imgbb).toEqual({ apiKey: 'ik', apiUrl: 'http://127.0.0.1:9/imgbb', expirationSeconds: 600 });
    expect(c.cloud.timeoutMs).toBe(2500);
    expect(c.limits).toMatchObject({
      maxUploadBytes: 1000,
      maxInputPixels: 2000,
      maxFiles: 3,
      imageMaxKb: 200,
      thumbnailSize: 128,
      maxDimension: 0,
      keepPng: true,
    });
    expect(c.restoreAllowedHosts).toEqual(['i.ibb.co', 'i.postimg.cc']);
    expect(c.localRetentionDays).toBe(30);
    expect(c.reconcileIntervalMinutes).toBe(60);
    expect(c.logLevel).toBe('debug');
  });

  it.each([
    [{ PORT: 'abc' }, 'Invalid configuration: PORT="abc": expected a whole number from 0 to 65535'],
    [{ PORT: '70000' }, 'Invalid configuration: PORT="70000": expected a whole number from 0 to 65535'],
    [
      { IMGBB_EXPIRATION: '30' },
      'Invalid configuration: IMGBB_EXPIRATION="30": expected a whole number from 60 to 15552000',
    ],
    [
      { CLOUD_PROVIDERS: 'postimages,flickr' },
      'Invalid configuration: CLOUD_PROVIDERS="postimages,flickr": expected a comma-separated list of postimages, imgbb, s3',
    ],
    [
      { MONGODB_URI: 'postgres://x' },
      'Invalid configuration: MONGODB_URI="postgres://x": expected a mongodb:// or mongodb+srv:// connection string',
    ],
    [
      { LOG_LEVEL: 'loud' },
      'Invalid configuration: LOG_LEVEL="loud": expected one of fatal, error, warn, info, debug, trace, silent',
    ],
    [
      { PUBLIC_BASE_URL: 'ftp://x' },
      'Invalid configuration: PUBLIC_BASE_URL="ftp://x": expected an http:// or https:// URL',
    ],
    [
      { AUTH_JWT_SECRET: 'short' },
      'Invalid configuration: AUTH_JWT_SECRET=(hidden): expected at least 32 characters for an HS256 secret',
    ],
    [
      { FILES_ACCEL_REDIRECT_PREFIX: '_protected' },
      'Invalid configuration: FILES_ACCEL_REDIRECT_PREFIX="_protected": expected an absolute path such as /_protected (nginx internal location)',
    ],
    [
      { FILES_ACCEL_REDIRECT_PREFIX: '/' },
      'Invalid configuration: FILES_ACCEL_REDIRECT_PREFIX="/": expected an absolute path such as /_protected (nginx internal location)',
    ],
    [
      { FILES_ACCEL_REDIRECT_PREFIX: '/a/../b' },
      'Invalid configuration: FILES_ACCEL_REDIRECT_PREFIX="/a/../b": expected an absolute path such as /_protected (nginx internal location)',
    ],
  ])('refuses %o with one line naming the variable, the problem and what is accepted', (env, line) => {
    expect(errorOf(env)).toBe(line);
  });

  it('lists every bad variable, one line each', () => {
    expect(errorOf({ PORT: 'x', MAX_FILES: '0' }).split('\n')).toHaveLength(2);
  });

  it('refuses to start in production without real auth settings', () => {
    expect(errorOf({ NODE_ENV: 'production', FILE_URL_SECRET: SECRET })).toMatch(
      /^Invalid configuration: AUTH_JWT_SECRET and AUTH_JWKS_URL are both unset/,
    );
    expect(
      loadConfig({ NODE_ENV: 'production', FILE_URL_SECRET: SECRET, AUTH_JWKS_URL: 'https://id.example.com/jwks' }).auth
        .mode,
    ).toBe('jwt');
  });

  it('refuses to start in production without FILE_URL_SECRET', () => {
    expect(errorOf({ NODE_ENV: 'production', AUTH_JWT_SECRET: SECRET })).toMatch(
      /^Invalid configuration: FILE_URL_SECRET is unset/,
    );
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ PORT: '', MONGODB_URI: '' }).port).toBe(4000);
  });

  it('turns introspection off in production unless asked for', () => {
    const prod = { NODE_ENV: 'production', FILE_URL_SECRET: SECRET, AUTH_JWT_SECRET: SECRET };
    expect(loadConfig(prod).introspection).toBe(false);
    expect(loadConfig({ ...prod, GRAPHQL_INTROSPECTION: 'true' }).introspection).toBe(true);
  });
});
