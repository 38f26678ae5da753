import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Router, type Request, type Response } from 'express';
import { FAVICON_LINK } from './favicon.js';

const require = createRequire(import.meta.url);
/** A file of an installed package; the browser builds are not in the packages' `exports`, so resolve from the root. */
const fileOf = (pkg: string, file: string) => join(dirname(require.resolve(`${pkg}/package.json`)), file);

/**
 * GraphiQL, served entirely by this server: its scripts and styles come from the installed
 * packages (graphiql 3 and React 18 ship browser builds), never from a CDN, so the playground
 * works on a machine without internet. Apollo's own landing page is disabled: it loads from a CDN.
 */
const ASSETS: Record<string, { file: string; type: string }> = {
  'react.js': { file: fileOf('react', 'umd/react.production.min.js'), type: 'text/javascript; charset=utf-8' },
  'react-dom.js': {
    file: fileOf('react-dom', 'umd/react-dom.production.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
  'graphiql.js': { file: fileOf('graphiql', 'graphiql.min.js'), type: 'text/javascript; charset=utf-8' },
  'graphiql.css': { file: fileOf('graphiql', 'graphiql.min.css'), type: 'text/css; charset=utf-8' },
  // The source maps the two name (relative to where they are served), for a browser's developer tools.
  'graphiql.min.js.map': { file: fileOf('graphiql', 'graphiql.min.js.map'), type: 'application/json; charset=utf-8' },
  'graphiql.min.css.map': { file: fileOf('graphiql', 'graphiql.min.css.map'), type: 'application/json; charset=utf-8' },
};

export const PLAYGROUND_ASSET_PATH = '/_playground';

/** The page's own script: a file, not inline, so a strict Content-Security-Policy can allow 'self' only. */
const INIT = `
(function () {
  var config = JSON.parse(document.getElementById('playground-config').textContent);
  var fetcher = GraphiQL.createFetcher({ url: config.endpoint });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultQuery: config.defaultQuery,
    headers: config.headers,
    shouldPersistHeaders: true,
    defaultEditorToolsVisibility: 'headers',
  }));
})();
`;

const DEFAULT_QUERY = `# Welcome to hybrid-image-store. Set who you are in the Headers tab below, then run this.
query Recent {
  conversations(first: 5) {
    totalCount
    edges {
      node {
        id
        title
        imageCount
        messages(first: 3) {
          edges { node { role content images { id displayUrl fallbackUrl replicationStatus } } }
        }
      }
    }
  }
  providers { name enabled circuit }
}
`;

const escapeJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

function page(headers: Record<string, string>): string {
  const config = { endpoint: '/graphql', defaultQuery: DEFAULT_QUERY, headers: JSON.stringify(headers, null, 2) };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hybrid-image-store · GraphiQL</title>
${FAVICON_LINK}
<link rel="stylesheet" href="${PLAYGROUND_ASSET_PATH}/graphiql.css">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script id="playground-config" type="application/json">${escapeJson(config)}</script>
<script src="${PLAYGROUND_ASSET_PATH}/react.js"></script>
<script src="${PLAYGROUND_ASSET_PATH}/react-dom.js"></script>
<script src="${PLAYGROUND_ASSET_PATH}/graphiql.js"></script>
<script src="${PLAYGROUND_ASSET_PATH}/init.js"></script>
</body>
</html>
`;
}

/** A browser asking for a page (Accept prefers text/html), not a client asking for JSON. */
function wantsHtml(req: Request): boolean {
  return req.accepts(['application/json', 'application/graphql-response+json', 'text/html']) === 'text/html';
}

/**
 * GET /graphql for browsers (content negotiation on Accept) answers GraphiQL; every other
 * request goes on to Apollo. `headers` pre-fills GraphiQL's header editor: the dev identity
 * header in dev mode, an Authorization placeholder with JWT.
 */
export function createPlaygroundRouter(o: { headers: Record<string, string> }): Router {
  const router = Router();
  const html = page(o.headers);
  router.get('/graphql', (req: Request, res: Response, next) => {
    if (!wantsHtml(req) || req.query['query'] !== undefined) return next();
    res
      .set({
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-cache',
        'X-Content-Type-Options': 'nosniff',
      })
      .send(html);
  });
  router.get(`${PLAYGROUND_ASSET_PATH}/init.js`, (_req, res) => {
    res
      .set({
        'Content-Type': 'text/javascript; charset=utf-8',
        'Cache-Control': 'no-cache',
        'X-Content-Type-Options': 'nosniff',
      })
      .send(INIT);
  });
  router.get(`${PLAYGROUND_ASSET_PATH}/:name`, (req: Request, res: Response, next) => {
    const asset = ASSETS[String(req.params['name'])];
    if (!asset) return next();
    // The files change only with the installed package versions.
    res.set({
      'Content-Type': asset.type,
      'Cache-Control': 'public, max-age=86400',
      'X-Content-Type-Options': 'nosniff',
    });
    res.sendFile(asset.file);
  });
  return router;
}
