import { createServer, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody } from './error-body.js';

/** Node's HTTP server with this project's timeouts and its answer to unparseable requests. */
export function createNodeServer(): Server {
  const httpServer = createServer();
  // Keep idle connections longer than the usual proxy idle timeout (60 s): a server that
  // closes first races clients reusing the socket, which then see ECONNRESET.
  httpServer.keepAliveTimeout = 65_000;
  // A client that opens a request and never finishes its headers must not hold a socket forever.
  httpServer.headersTimeout = 66_000;
  httpServer.requestTimeout = 300_000;
  httpServer.on('clientError', answerClientError);
  return httpServer;
}

/**
 * Node's own answer to a request it cannot parse (bad header bytes, a body shorter than its
 * Content-Length, headers too large or too slow) is a bare status line. This gives it the
 * JSON error shape and a code like every other refusal, then closes the socket.
 */
function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable || (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, reason, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'The request headers are too large.']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'The request was not received in time.']
        : [400, 'Bad Request', 'The request is not valid HTTP.'];
  const body = JSON.stringify(errorBody('BAD_USER_INPUT', message));
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
