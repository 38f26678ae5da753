import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { Poller } from '../workers/poller.js';
import type { CleanupService } from './cleanup.js';
import type { ReconcileService } from './reconcile.js';

const DAY_MS = 86_400_000;

/**
 * The maintenance passes that run on a timer when configured: a daily cleanup with
 * LOCAL_RETENTION_DAYS, a reconcile every RECONCILE_INTERVAL_MINUTES. A failed pass is logged
 * and the next one runs on time.
 */
export function maintenanceTimers(
  config: Pick<Config, 'localRetentionDays' | 'reconcileIntervalMinutes'>,
  d: { cleanup: CleanupService; reconcile: ReconcileService; log: Logger },
): Poller[] {
  const timers: Poller[] = [];
  const retentionDays = config.localRetentionDays;
  if (retentionDays !== null) {
    const pass = async () => {
      await d.cleanup.cleanup({ userId: 'retention', isAdmin: true }, { olderThanDays: retentionDays });
      return false;
    };
    timers.push(new Poller(pass, DAY_MS, (err) => d.log.error({ err }, 'daily local cleanup failed')));
  }
  if (config.reconcileIntervalMinutes !== null) {
    const pass = async () => {
      await d.reconcile.run();
      return false;
    };
    const every = config.reconcileIntervalMinutes * 60_000;
    timers.push(new Poller(pass, every, (err) => d.log.error({ err }, 'reconcile pass failed')));
  }
  return timers;
}
