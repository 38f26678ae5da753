import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { ProviderError } from './provider.js';

/** Provider answers are a few hundred bytes of JSON or XML; anything near this is not one. */
export const MAX_ANSWER_BYTES = 1024 * 1024;
/** Base64 of the largest upload (MAX_UPLOAD_BYTES caps at 1 GB, default 50 MB) plus form fields. */
export const MAX_REQUEST_BYTES = 100 * 1024 * 1024;

/**
 * Every limit is explicit because axios's defaults are unbounded (no timeout, no size cap)
 * and follow redirects, which would let a provider bounce us to an arbitrary host.
 */
export function createHttpClient(timeoutMs: number): AxiosInstance {
  return axios.create({
    timeout: timeoutMs,
    maxContentLength: MAX_ANSWER_BYTES,
    maxBodyLength: MAX_REQUEST_BYTES,
    maxRedirects: 0,
    // Statuses are classified by classify(), so a 429 keeps its Retry-After header.
    validateStatus: () => true,
    responseType: 'text',
    // Parsing is the provider's job: a JSON-looking HTML page must not be half-parsed here.
    transformResponse: [(d: unknown) => d],
    transitional: { clarifyTimeoutError: true, silentJSONParsing: false, forcedJSONParsing: false },
  });
}

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_NETWORK',
  'ERR_CANCELED',
]);

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function isResponse(x: unknown): x is AxiosResponse {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as { status?: unknown }).status === 'number' &&
    'headers' in x &&
    'config' in x
  );
}

/**
 * One place decides what is worth retrying: the network, timeouts, 5xx and 429 are
 * transient; any other 4xx or an oversized answer will fail the same way again.
 * A 2xx response gives null: the caller still has to validate its body.
 */
export function classify(response: AxiosResponse): ProviderError | null;
export function classify(error: unknown): ProviderError;
export function classify(x: unknown): ProviderError | null {
  if (x instanceof ProviderError) return x;
  if (axios.isAxiosError(x)) {
    const byStatus = x.response ? classify(x.response) : null;
    if (byStatus) return byStatus;
    const code = x.code ?? '';
    if (/maxContentLength/.test(x.message))
      return new ProviderError(`the provider's answer exceeded ${MAX_ANSWER_BYTES} bytes`, false, { cause: x });
    if (/maxBodyLength/.test(x.message))
      return new ProviderError(`the upload exceeded ${MAX_REQUEST_BYTES} bytes`, false, { cause: x });
    if (code === 'ETIMEDOUT' || code === 'ECONNABORTED')
      return new ProviderError(`the provider did not answer in time (${x.message})`, true, { cause: x });
    if (code === 'ERR_CANCELED') return new ProviderError('the request was aborted', true, { cause: x });
    // A connection dropped mid-answer surfaces as ERR_BAD_RESPONSE "stream has been aborted".
    if (RETRYABLE_CODES.has(code) || /aborted|socket hang up/i.test(x.message)) {
      return new ProviderError(`network error talking to the provider: ${code || x.message}`, true, { cause: x });
    }
    return new ProviderError(`request to the provider failed: ${x.message}`, false, { cause: x });
  }
  if (isResponse(x)) {
    const status = x.status;
    if (status >= 200 && status < 300) return null;
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(x.headers['retry-after']);
      return new ProviderError(
        'the provider is rate limiting (429)',
        true,
        retryAfterMs === undefined ? { status } : { status, retryAfterMs },
      );
    }
    if (status >= 500) return new ProviderError(`the provider failed with status ${status}`, true, { status });
    return new ProviderError(`the provider refused the request with status ${status}${describeBody(x.data)}`, false, {
      status,
    });
  }
  const err = x as { code?: unknown; name?: unknown; message?: unknown } | null;
  const code = typeof err?.code === 'string' ? err.code : '';
  if (RETRYABLE_CODES.has(code) || err?.name === 'AbortError') {
    return new ProviderError(`network error talking to the provider: ${code || 'aborted'}`, true, { cause: x });
  }
  return new ProviderError(`request to the provider failed: ${String(err?.message ?? x)}`, false, { cause: x });
}

/** A short, single-line excerpt for error messages; providers' bodies never hold our key. */
export function describeBody(data: unknown): string {
  if (typeof data !== 'string' || data.trim() === '') return '';
  return `: ${data.replace(/\s+/g, ' ').trim().slice(0, 200)}`;
}

/** Captive portals and CDN error pages answer 200 with HTML; it is never a provider answer. */
export function isHtmlAnswer(response: AxiosResponse): boolean {
  const type = String(response.headers['content-type'] ?? '').toLowerCase();
  if (type.includes('text/html')) return true;
  const body = typeof response.data === 'string' ? response.data.trimStart().slice(0, 100).toLowerCase() : '';
  return body.startsWith('<!doctype html') || body.startsWith('<html');
}

/** The answer body as text, whatever the adapter handed back. */
export function bodyText(response: AxiosResponse): string {
  const d: unknown = response.data;
  if (typeof d === 'string') return d;
  if (Buffer.isBuffer(d)) return d.toString('utf8');
  return '';
}

/**
 * POSTs a urlencoded form, as both providers' upload APIs take it. Transport failures become
 * ProviderErrors; the answer is returned whatever its status, for the caller to classify with
 * its provider's own reasons.
 */
export async function postForm(
  http: AxiosInstance,
  url: string,
  form: URLSearchParams,
  accept: string,
  signal: AbortSignal,
): Promise<AxiosResponse> {
  try {
    return await http.post(url, form.toString(), {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: accept },
      signal,
    });
  } catch (err) {
    throw classify(err);
  }
}
