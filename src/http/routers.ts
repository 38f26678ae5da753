import type { Config } from '../config.js';
import type { Core } from '../core.js';
import { DEV_USER } from '../domain/viewer.js';
import { fileRecords } from '../files/file-records.js';
import type { HttpDeps } from './app.js';
import { createDemoRouter } from './demo.js';
import { createFilesRouter } from './files-route.js';
import type { Authenticate } from './identity.js';
import { createLegacyStaticRouter } from './legacy-static-route.js';
import { createPlaygroundRouter } from './playground.js';

/** The routes beside GraphQL, as the settings turn them on: /files, the seed's /static links, GraphiQL, the demo. */
export function routersFromConfig(
  config: Config,
  core: Pick<Core, 'files' | 'urls' | 'clock' | 'log' | 'links' | 'store'>,
  authenticate: Authenticate,
): Pick<HttpDeps, 'filesRouter' | 'legacyStaticRouter' | 'playground' | 'demo'> {
  const { files, urls, clock, log, links, store } = core;
  return {
    filesRouter: createFilesRouter({
      files,
      signer: urls,
      clock,
      log,
      cloudRedirect: links.redirect,
      ...(config.filesAccelRedirectPrefix ? { accelRedirectPrefix: config.filesAccelRedirectPrefix } : {}),
      lookup: fileRecords(store),
    }),
    ...(config.legacyStaticLinks
      ? {
          legacyStaticRouter: createLegacyStaticRouter({
            authenticate,
            lookup: (key) => store.findImageByFileKey(key),
            cloudRedirect: links.redirect,
            cloudUrlPublic: links.isPublic,
            signedUrl: (key) => urls.url(key),
            log,
          }),
        }
      : {}),
    // GraphiQL needs introspection to show the schema: it is served exactly when introspection is on.
    ...(config.introspection
      ? {
          playground: createPlaygroundRouter({
            headers: config.auth.mode === 'dev' ? { 'x-user-id': DEV_USER } : { authorization: 'Bearer <your JWT>' },
          }),
        }
      : {}),
    demo: createDemoRouter(),
  };
}
