import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** A graphql-ws client as a frontend makes one, against a test server's /graphql. */
export function wsClient(
  httpUrl: string,
  connectionParams: Record<string, unknown> = {},
  o: { onClose?: (code: number, reason: string) => void } = {},
): Client {
  return createClient({
    url: `${httpUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
    lazy: false,
    // Closes are the tests' to look at (onClose), not to print.
    onNonLazyError: () => undefined,
    on: {
      closed: (event) => o.onClose?.((event as { code: number }).code, String((event as { reason: unknown }).reason)),
    },
  });
}

/** The payloads one subscription delivers, gathered as they come, with a way to wait for more. */
export function collect<T = Record<string, unknown>>(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
) {
  const received: { data?: T | null; errors?: { message: string; extensions?: Record<string, unknown> }[] }[] = [];
  const arrivals: number[] = [];
  let error: unknown = null;
  let completed = false;
  const waiters: (() => void)[] = [];
  const notify = () => waiters.splice(0).forEach((w) => w());
  const unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (value) => {
        received.push(value as (typeof received)[number]);
        arrivals.push(performance.now());
        notify();
      },
      error: (e) => {
        error = e;
        notify();
      },
      complete: () => {
        completed = true;
        notify();
      },
    },
  );
  return {
    received,
    arrivals,
    get error() {
      return error;
    },
    get completed() {
      return completed;
    },
    unsubscribe,
    /** Resolves once `done` holds of what was received (or the subscription ended), within `ms`. */
    async until(done: (r: typeof received) => boolean, ms = 10_000): Promise<typeof received> {
      const deadline = Date.now() + ms;
      while (!done(received)) {
        if (error || completed)
          throw new Error(
            `the subscription ended (${completed ? 'complete' : String(error)}) after ${JSON.stringify(received)}`,
          );
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out waiting; received ${JSON.stringify(received)}`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      return received;
    },
  };
}
