import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import cors from 'cors';
import express, { type ErrorRequestHandler, type Express, type RequestHandler, type Router } from 'express';
import { graphqlUploadExpress } from 'graphql-upload-minimal';
import { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { pinoHttp } from 'pino-http';
import { isDomainError } from '../domain/errors.js';
import type { GraphQLContext, MakeContext } from '../graphql/context.js';
import type { Authenticate } from './identity.js';
import { assertMultipartParserPatched } from './multipart-patch.js';
import { readUploadsEarly } from './early-upload-read.js';
import { createFaviconRouter } from './favicon.js';
import { sendError, type HttpErrorCode } from './error-body.js';

/** How much of each uploaded file is received ahead of the resolver (see early-upload-read.ts). */
const UPLOAD_READ_AHEAD_BYTES = 2 * 1024 * 1024;

export interface HttpDeps {
  log: Logger;
  apollo: ApolloServer<GraphQLContext>;
  authenticate: Authenticate;
  makeContext: MakeContext;
  /** Throws when the metadata store cannot be reached. */
  ready: () => Promise<void>;
  maxJsonBodyBytes: number;
  /**
   * Refuse a POST to /graphql without valid credentials before its body is read (production):
   * an anonymous caller cannot make the server buffer a 67 MB JSON body.
   */
  credentialsBeforeBody?: boolean;
  corsOrigins: string[];
  upload: { maxFileBytes: number; maxFiles: number };
  /** Signed local file serving (`GET /files/...`). */
  filesRouter?: Router;
  /** The seed chatbot's old `/static/Storage/...` links; absent when turned off. */
  legacyStaticRouter?: Router;
  /** Prometheus registry served at `/metrics`, with a bearer `token` when set (see Config.metrics). */
  metrics?: { registry: Registry; token: string | null };
  /** GraphiQL at GET /graphql for browsers (src/http/playground.ts); absent when turned off. */
  playground?: Router;
  /** The demo page at `/` (src/http/demo.ts). */
  demo?: Router;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** The Express app: thin routes over the services; every error answers JSON with a code. */
export function createHttpApp(deps: HttpDeps): Express {
  assertMultipartParserPatched();
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  app.use(
    pinoHttp({
      logger: deps.log,
      genReqId(req: IncomingMessage, res: ServerResponse) {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      // Health probes every few seconds would drown the useful lines.
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics' },
      redact: ['req.headers.authorization', 'req.headers.cookie'],
    }),
  );

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (req, res) => {
    try {
      await deps.ready();
      res.json({ status: 'ready' });
    } catch (err) {
      req.log.warn({ err }, 'readiness check failed: metadata store unreachable');
      res.status(503).json({ status: 'unavailable', reason: 'metadata store unreachable' });
    }
  });

  if (deps.metrics) {
    const { registry, token } = deps.metrics;
    const expected = token === null ? null : createHash('sha256').update(`Bearer ${token}`).digest();
    app.get('/metrics', async (req, res) => {
      if (expected) {
        // Compared as digests so the comparison takes the same time whatever was sent.
        const given = createHash('sha256')
          .update(req.headers.authorization ?? '')
          .digest();
        if (!timingSafeEqual(given, expected)) {
          sendError(res, 401, 'UNAUTHENTICATED', 'GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`.', {
            'WWW-Authenticate': 'Bearer realm="metrics"',
          });
          return;
        }
      }
      res.set('Content-Type', registry.contentType).send(await registry.metrics());
    });
  }

  if (deps.filesRouter) app.use(deps.filesRouter);
  if (deps.legacyStaticRouter) app.use(deps.legacyStaticRouter);
  app.use(createFaviconRouter());
  if (deps.playground) app.use(deps.playground);
  if (deps.demo) app.use(deps.demo);

  app.use(
    '/graphql',
    cors({ origin: deps.corsOrigins.length > 0 ? deps.corsOrigins : false, maxAge: 600 }),
    requirePreflightForMultipart,
    ...(deps.credentialsBeforeBody ? [credentialsBeforeBody(deps.authenticate)] : []),
    // The multipart parser runs before Apollo, patched (src/http/multipart-patch.ts) so that no
    // malformed body can end the process. Its maxFileSize only truncates a file silently
    // (graphql-upload-minimal issue #51): the upload path counts bytes itself and treats the
    // stream's `limit` event as PAYLOAD_TOO_LARGE. Here it is one byte over, so a file of
    // exactly the limit still passes.
    graphqlUploadExpress({
      maxFileSize: deps.upload.maxFileBytes + 1,
      maxFiles: deps.upload.maxFiles,
      maxFieldSize: deps.maxJsonBodyBytes,
    }),
    // Files arrive while Apollo works on the operation, instead of after (early-upload-read.ts).
    readUploadsEarly(UPLOAD_READ_AHEAD_BYTES),
    largeJsonBodiesWithinBudget(deps.maxJsonBodyBytes),
    express.json({ limit: deps.maxJsonBodyBytes }),
    expressMiddleware(deps.apollo, {
      context: async ({ req, res }) => {
        const requestId = String(req.id);
        let viewer;
        try {
          // Already known when the credentials were checked before the body was read.
          viewer =
            'viewer' in res.locals
              ? (res.locals['viewer'] as Awaited<ReturnType<Authenticate>>)
              : await deps.authenticate(req.headers);
        } catch (e) {
          if (isDomainError(e)) {
            throw new GraphQLError(e.message, { extensions: { code: e.code, http: { status: 401 } } });
          }
          throw e;
        }
        return deps.makeContext({ viewer, requestId, log: req.log });
      },
    }),
  );

  app.use((_req, res) => {
    sendError(res, 404, 'NOT_FOUND', 'Not found. The API is at /graphql.');
  });

  app.use(bodyErrorHandler);
  return app;
}

/**
 * Apollo's CSRF prevention would refuse a multipart request without a preflight-forcing
 * header, but only after the upload middleware (which runs first) had parsed the body and
 * read the files. This refuses it before a byte of the body is read.
 */
const requirePreflightForMultipart: RequestHandler = (req, res, next) => {
  if (!req.is('multipart/form-data')) return next();
  const preflight = req.headers['apollo-require-preflight'] ?? req.headers['x-apollo-operation-name'];
  if (typeof preflight === 'string' && preflight.length > 0) return next();
  sendError(
    res,
    400,
    'BAD_USER_INPUT',
    'This multipart request was refused to prevent cross-site request forgery: send the header `apollo-require-preflight: true` with uploads.',
  );
};

/**
 * In production, every POST needs valid credentials, checked from the headers alone: a request
 * without them is answered 401 before a byte of its body is read, and its connection closed so
 * the body is never read at all. The viewer found is kept for the GraphQL context.
 */
function credentialsBeforeBody(authenticate: Authenticate): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'POST') return next();
    const refuse = (message: string) => {
      sendError(res, 401, 'UNAUTHENTICATED', message, { Connection: 'close', 'WWW-Authenticate': 'Bearer' });
    };
    authenticate(req.headers).then(
      (viewer) => {
        if (viewer === null) return refuse('This server needs `Authorization: Bearer <JWT>` on every request.');
        res.locals['viewer'] = viewer;
        next();
      },
      (e: unknown) => {
        if (isDomainError(e)) return refuse(e.message);
        next(e);
      },
    );
  };
}

/** Above this declared size (or with no declared size) a JSON body is a large one. */
const LARGE_JSON_BODY_BYTES = 8 * 1024 * 1024;
/** Declared bytes of large JSON bodies read and handled at once; a bigger body runs alone. */
const LARGE_JSON_BYTES_AT_ONCE = 96 * 1024 * 1024;

/**
 * A JSON body costs several times its size while it is read, decoded and parsed (the raw
 * bytes, the text, the parsed strings), and its parsed strings stay until the answer is sent: a
 * maximum-size base64 upload (67 MB of JSON) peaks near 300 MB with its image work. So large
 * bodies are admitted while their declared sizes add up to at most LARGE_JSON_BYTES_AT_ONCE
 * (one at a time at the maximum size, several smaller ones together); the others wait, in
 * arrival order, before a byte of theirs is read (TCP holds them back), and go on as soon as an
 * answer is sent. A body of unknown size counts as the largest allowed. Small requests never
 * wait here.
 */
function largeJsonBodiesWithinBudget(maxJsonBodyBytes: number): RequestHandler {
  let inFlight = 0;
  const waiting: { bytes: number; go: () => void }[] = [];
  const admit = () => {
    while (waiting.length > 0) {
      const first = waiting[0] as { bytes: number; go: () => void };
      if (inFlight > 0 && inFlight + first.bytes > LARGE_JSON_BYTES_AT_ONCE) return;
      waiting.shift();
      inFlight += first.bytes;
      first.go();
    }
  };
  return (req, res, next) => {
    if (!req.is('application/json')) return next();
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared <= LARGE_JSON_BODY_BYTES) return next();
    const bytes = Number.isFinite(declared) ? Math.min(declared, maxJsonBodyBytes) : maxJsonBodyBytes;
    waiting.push({
      bytes,
      go: () => {
        let released = false;
        const release = () => {
          if (released) return;
          released = true;
          inFlight -= bytes;
          admit();
        };
        // Until the answer is sent or the client goes away, whichever comes first.
        res.once('close', release);
        if (res.destroyed || req.destroyed) return release();
        next();
      },
    });
    admit();
  };
}

/**
 * Errors thrown before GraphQL runs (body parsing): a malformed JSON body is 400
 * BAD_USER_INPUT and an oversized one 413 PAYLOAD_TOO_LARGE, in the GraphQL error shape so
 * clients handle them like any other error. Anything else is a masked 500.
 */
const bodyErrorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const e = err as { type?: string; status?: number; limit?: number; expose?: boolean; message?: string };
  let status = 500;
  let code: HttpErrorCode = 'INTERNAL_SERVER_ERROR';
  let message = 'Internal server error';
  if (e.type === 'entity.too.large') {
    status = 413;
    code = 'PAYLOAD_TOO_LARGE';
    message = `The request body is larger than the ${e.limit ?? ''} bytes accepted for JSON requests. Send images as multipart uploads.`;
  } else if (e.type === 'entity.parse.failed') {
    status = 400;
    code = 'BAD_USER_INPUT';
    message = 'The request body is not valid JSON.';
  } else if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    // Multipart errors from graphql-upload-minimal: bad `operations`/`map`, too many files,
    // a missing file part, a client that went away.
    status = e.status === 499 ? 400 : e.status;
    code = e.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_USER_INPUT';
    message = e.expose && e.message ? e.message : 'The request could not be read.';
  } else {
    req.log.error({ err }, 'unhandled error in an HTTP route');
  }
  if (res.headersSent) return;
  sendError(res, status, code, message);
};
