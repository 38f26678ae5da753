import { connect } from 'node:net';

export interface RawAnswer {
  /** 0 when the server closed the connection without an HTTP answer. */
  status: number;
  headers: string;
  body: string;
}

/**
 * Sends bytes exactly as given (no client-side validation, as an attacker would), and reads
 * the answer. `truncate` sends only that many body bytes and then half-closes the socket,
 * like a client that gives up mid-upload while still listening.
 */
export async function rawRequest(
  url: string,
  o: {
    path?: string;
    headers: Record<string, string>;
    body: Buffer;
    contentLength?: number;
    truncate?: number;
    timeoutMs?: number;
  },
): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  const head =
    `POST ${o.path ?? '/graphql'} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n` +
    `Content-Length: ${o.contentLength ?? o.body.length}\r\n` +
    Object.entries(o.headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('') +
    '\r\n';
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${o.timeoutMs ?? 10_000} ms`));
    }, o.timeoutMs ?? 10_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      const split = text.indexOf('\r\n\r\n');
      let body = split >= 0 ? text.slice(split + 4) : '';
      if (/transfer-encoding: chunked/i.test(text.slice(0, split))) body = dechunk(body);
      resolve({ status: m ? Number(m[1]) : 0, headers: split >= 0 ? text.slice(0, split) : text, body });
    });
    socket.on('connect', () => {
      socket.write(head);
      const body = o.truncate === undefined ? o.body : o.body.subarray(0, o.truncate);
      socket.write(body);
      if (o.truncate !== undefined) socket.end();
    });
  });
}

function dechunk(s: string): string {
  let out = '';
  let i = 0;
  for (;;) {
    const eol = s.indexOf('\r\n', i);
    if (eol < 0) return out;
    const size = parseInt(s.slice(i, eol), 16);
    if (!size) return out;
    out += s.slice(eol + 2, eol + 2 + size);
    i = eol + 2 + size + 2;
  }
}
