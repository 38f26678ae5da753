import { createApp } from './server.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';

/** Reads the configuration, starts the server and stops it gracefully on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw e;
  }
  const log = createLogger(config.logLevel);
  const app = await createApp(config, { log });
  const url = await app.listen();
  log.info({ url: `${url}/graphql`, store: app.store.kind }, `hybrid-image-store listening on ${url}/graphql`);

  let signalled = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ signal }, 'second signal: exiting at once');
      process.exit(1);
    }
    signalled = true;
    log.info(
      { signal, timeoutMs: config.shutdownTimeoutMs },
      'shutting down: no new connections, finishing in-flight requests',
    );
    // The drain is bounded by SHUTDOWN_TIMEOUT_MS; this timer is the last resort if closing hangs.
    const hardStop = setTimeout(() => {
      log.error('shutdown did not finish in time: exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 5000);
    hardStop.unref();
    app.stop().then(
      () => {
        log.info('shutdown complete');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `hybrid-image-store failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
