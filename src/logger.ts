import { pino, type Logger } from 'pino';
import type { Config } from './config.js';

/** JSON lines on stdout; secrets that could reach a log object are redacted. */
export function createLogger(level: Config['logLevel']): Logger {
  return pino({
    level,
    base: { service: 'hybrid-image-store' },
    redact: {
      paths: ['*.deleteUrl', '*.delete_url', 'deleteUrl', 'delete_url', '*.apiKey', '*.key'],
      censor: '[redacted]',
    },
  });
}
