import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { originRefusal } from './allowed-origins.js';
import { streamToFile } from '../files/read-limited.js';

export interface DownloadPolicy {
  /** Origins a download (and every redirect it takes) may be on (src/cloud/allowed-origins.ts). */
  allowedHosts: readonly string[];
  requireHttps: boolean;
  maxBytes: number;
  /** For the whole download, headers and body. */
  timeoutMs: number;
  maxRedirects: number;
}

/** A download refused or failed; the message is safe to show to the caller (no query strings). */
export class DownloadError extends Error {
  override name = 'DownloadError';
}

/**
 * Why a URL may not be fetched, or null when it may. A record's cloud URL is data that could
 * have been edited (to http://169.254.169.254/, say): only the providers' origins are fetched
 * (scheme, host and port), https only in production, never with credentials in the URL.
 */
export function refusal(url: string, policy: Pick<DownloadPolicy, 'allowedHosts' | 'requireHttps'>): string | null {
  const refused = originRefusal(url, policy.allowedHosts, policy.requireHttps);
  return refused ? `the cloud URL is refused (RESTORE_ALLOWED_HOSTS): ${refused}` : null;
}

const redacted = (url: string) => {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
};

/**
 * Downloads `url` into `path` (which must not exist), fsync'd, and returns the size and SHA-256
 * of what was written. Redirects are followed by hand, each target checked against the policy; the
 * body is counted while streaming and cut at maxBytes. On any failure nothing is left at `path`.
 */
/**
 * One GET with Node's own client: a restore makes thousands of these, and axios's per-request
 * work (config merging, interceptors, its redirect wrapper) cost ~1 ms of main-thread CPU each.
 * No proxy, no redirect following, no decompression: the caller sees the raw answer.
 */
function get(url: string, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = (target.protocol === 'https:' ? httpsRequest : httpRequest)(
      target,
      { method: 'GET', signal, headers: { accept: 'image/*' } },
      resolve,
    );
    req.on('error', reject);
    req.end();
  });
}

export async function downloadToFile(
  url: string,
  path: string,
  policy: DownloadPolicy,
): Promise<{ bytes: number; sha256: string }> {
  const signal = AbortSignal.timeout(policy.timeoutMs);
  let current = url;
  for (let hop = 0; ; hop++) {
    const refused = refusal(current, policy);
    if (refused) throw new DownloadError(hop === 0 ? refused : `redirected to a refused URL: ${refused}`);
    let response;
    try {
      response = await get(current, signal);
    } catch (e) {
      throw new DownloadError(
        `downloading ${redacted(current)} failed: ${signal.aborted ? `no complete answer within ${policy.timeoutMs} ms` : (e as Error).message}`,
      );
    }
    const { statusCode: status = 0, headers } = response;
    const data = response;
    if (status >= 300 && status < 400 && typeof headers.location === 'string') {
      data.destroy();
      if (hop >= policy.maxRedirects) throw new DownloadError(`more than ${policy.maxRedirects} redirects`);
      current = new URL(headers.location, current).toString();
      continue;
    }
    if (status !== 200) {
      data.destroy();
      throw new DownloadError(`the cloud copy at ${redacted(current)} answered ${status}`);
    }
    const declared = Number(headers['content-length']);
    if (Number.isFinite(declared) && declared > policy.maxBytes) {
      data.destroy();
      throw new DownloadError(`the cloud copy is ${declared} bytes, over the ${policy.maxBytes}-byte limit`);
    }
    let bytes: number;
    // Hashed as it streams: the file is not read a second time.
    const hash = createHash('sha256');
    try {
      const onAbort = () => data.destroy(new DownloadError(`no complete answer within ${policy.timeoutMs} ms`));
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        // Flushed before it is closed: the caller moves it into place as it is (putFromFile with synced).
        bytes = await streamToFile(data, path, {
          maxBytes: policy.maxBytes,
          idleTimeoutMs: policy.timeoutMs,
          hash,
          flush: true,
        });
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    } catch (e) {
      throw new DownloadError(`downloading ${redacted(current)} failed: ${(e as Error).message}`);
    }
    return { bytes, sha256: hash.digest('hex') };
  }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
