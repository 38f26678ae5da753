/**
 * An S3 endpoint for tests: s3rver (a third-party S3 server for Node) on loopback, behind a small
 * proxy of ours that records every request (method, path, headers) and fails on demand the way
 * S3 does: throttling (503 SlowDown), a server error (500 InternalError), AccessDenied (403), NoSuchBucket (404), or a dead endpoint
 * (the connection is dropped). Real SDK requests, real HTTP; nothing leaves the machine.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import type { S3Options } from '../../src/cloud/s3.js';

export type S3Mode = 'ok' | 'slowdown' | 'internal' | 'denied' | 'nobucket' | 'dead' | 'hang';

export interface S3Request {
  method: string;
  /** Without the query string (the SDK adds `?x-id=PutObject` and the like). */
  path: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface S3Endpoint {
  /** The proxy's address: S3_ENDPOINT, and (path style) the public base of the bucket. */
  endpoint: string;
  bucket: string;
  /** S3_PUBLIC_BASE_URL for the bucket (s3rver serves objects to anonymous GETs). */
  publicBaseUrl: string;
  requests: S3Request[];
  mode: S3Mode;
  /** A mode for some requests only (say, the thumbnails' PUTs); undefined falls back to `mode`. */
  modeFor: ((r: S3Request) => S3Mode | undefined) | null;
  /** Added before every request is forwarded (a distant region). */
  latencyMs: number;
  /** Env for a server using this bucket as its s3 provider. */
  env(extra?: Record<string, string>): Record<string, string>;
  /** Options for an S3Provider on this bucket, for tests and benches that use the provider alone. */
  providerOptions(extra?: Partial<S3Options>): S3Options;
  stop(): Promise<void>;
}

const ERRORS: Record<Exclude<S3Mode, 'ok' | 'dead' | 'hang'>, { status: number; code: string; message: string }> = {
  slowdown: { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' },
  internal: { status: 500, code: 'InternalError', message: 'We encountered an internal error. Please try again.' },
  denied: { status: 403, code: 'AccessDenied', message: 'Access Denied' },
  nobucket: { status: 404, code: 'NoSuchBucket', message: 'The specified bucket does not exist' },
};

export async function startS3(o: { bucket?: string } = {}): Promise<S3Endpoint> {
  const bucket = o.bucket ?? 'chat-images';
  const directory = await mkdtemp(join(tmpdir(), 'his-s3rver-'));
  const s3rver = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const { port: upstream } = (await s3rver.run()) as AddressInfo;
  const sockets = new Set<Socket>();

  const endpoint: S3Endpoint = {
    endpoint: '',
    bucket,
    publicBaseUrl: '',
    requests: [],
    mode: 'ok',
    modeFor: null,
    latencyMs: 0,
    env: (extra = {}) => ({
      S3_BUCKET: bucket,
      S3_ENDPOINT: endpoint.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_PUBLIC_BASE_URL: endpoint.publicBaseUrl,
      ...extra,
    }),
    providerOptions: (extra = {}) => ({
      bucket,
      region: 'us-east-1',
      endpoint: endpoint.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      keyPrefix: '',
      publicBaseUrl: endpoint.publicBaseUrl,
      presignTtlSeconds: 3600,
      timeoutMs: 10_000,
      requireHttps: false,
      ...extra,
    }),
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await s3rver.close();
      await rm(directory, { recursive: true, force: true });
    },
  };

  const proxy = createServer((req: IncomingMessage, res: ServerResponse) => {
    const recorded = { method: req.method ?? '', path: (req.url ?? '').split('?')[0]!, headers: { ...req.headers } };
    endpoint.requests.push(recorded);
    const mode = endpoint.modeFor?.(recorded) ?? endpoint.mode;
    if (mode === 'dead') {
      req.socket.destroy();
      return;
    }
    // Never answers; the socket is destroyed by stop() or by the client giving up.
    if (mode === 'hang') return;
    if (mode !== 'ok') {
      const e = ERRORS[mode];
      req.resume();
      res.writeHead(e.status, { 'Content-Type': 'application/xml' });
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${e.code}</Code><Message>${e.message}</Message><RequestId>test</RequestId></Error>`,
      );
      return;
    }
    const go = () => {
      const forward = request(
        { host: '127.0.0.1', port: upstream, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => res.destroy());
      req.pipe(forward);
    };
    if (endpoint.latencyMs > 0) setTimeout(go, endpoint.latencyMs);
    else go();
  });
  proxy.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as AddressInfo;
  endpoint.endpoint = `http://127.0.0.1:${port}`;
  endpoint.publicBaseUrl = `http://127.0.0.1:${port}/${bucket}`;
  return endpoint;
}
