/*
 * ImgBB upload API, as documented at https://api.imgbb.com/ (v1):
 *
 *   POST https://api.imgbb.com/1/upload
 *     key         (required) The API key.
 *     image       (required) A binary file, base64 data, or a URL for an image. (up to 32 MB)
 *     name        (optional) The name of the file.
 *     expiration  (optional) Enable this if you want to force uploads to be auto deleted
 *                 after certain time (in seconds 60-15552000)
 *
 *   200 {"data": {"id": "2ndCYJK", "title": "c1f64245afb2", "url_viewer": "https://ibb.co/2ndCYJK",
 *        "url": "https://i.ibb.co/w04Prt6/c1f64245afb2.gif", "display_url": "...",
 *        "width": "1", "height": "1", "size": "42", "time": "1552042565", "expiration": "0",
 *        "image": {...}, "thumb": {...}, "delete_url": "https://ibb.co/2ndCYJK/670a7e48..."},
 *       "success": true, "status": 200}
 *   (numbers inside `data` arrive as strings)
 *   errors: non-2xx with {"status_code": 400, "error": {"message": "...", "code": 100}, "status_txt": "Bad Request"}
 *
 * The key travels in the form body, not the documented `?key=` query, so it never lands in
 * access logs or in axios error messages. base64 in a urlencoded form avoids multipart.
 * delete_url is a confirmation web page, not an API, hence no delete().
 */
import { type AxiosInstance } from 'axios';
import { bodyText, classify, createHttpClient, describeBody, isHtmlAnswer, postForm } from './http.js';
import { checkCloudUrl, type CloudCopy, type CloudProvider, ProviderError, type UploadFile } from './provider.js';

export interface ImgbbOptions {
  apiKey: string;
  apiUrl: string;
  expirationSeconds: number | null;
  timeoutMs: number;
  requireHttps: boolean;
  extraHosts?: string[];
}

export const IMGBB_HOSTS: readonly string[] = ['i.ibb.co'];

export class ImgbbProvider implements CloudProvider {
  readonly name = 'IMGBB' as const;
  readonly allowedHosts: readonly string[];
  private readonly http: AxiosInstance;

  constructor(private readonly options: ImgbbOptions) {
    this.allowedHosts = [...IMGBB_HOSTS, ...(options.extraHosts ?? [])];
    this.http = createHttpClient(options.timeoutMs);
  }

  async upload(file: UploadFile, signal: AbortSignal): Promise<CloudCopy> {
    const form = new URLSearchParams({
      key: this.options.apiKey,
      image: file.data.toString('base64'),
      name: baseName(file.fileName),
    });
    if (this.options.expirationSeconds != null) form.set('expiration', String(this.options.expirationSeconds));

    const response = await postForm(this.http, this.options.apiUrl, form, 'application/json', signal);
    const failed = classify(response);
    if (failed) throw withImgbbReason(failed, bodyText(response));
    if (isHtmlAnswer(response))
      throw new ProviderError(
        `ImgBB answered with an HTML page instead of JSON${describeBody(bodyText(response))}`,
        false,
        { status: response.status },
      );

    const data = parseAnswer(bodyText(response));
    return {
      url: checkCloudUrl(data.url, this.allowedHosts, this.options.requireHttps),
      deleteUrl: typeof data.delete_url === 'string' && data.delete_url !== '' ? data.delete_url : null,
      providerId: typeof data.id === 'string' && data.id !== '' ? data.id : null,
    };
  }
}

interface ImgbbData {
  id?: unknown;
  url: string;
  delete_url?: unknown;
}

function parseAnswer(text: string): ImgbbData {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ProviderError(`ImgBB answered with something that is not JSON${describeBody(text)}`, false, { cause });
  }
  if (typeof json !== 'object' || json === null)
    throw new ProviderError('ImgBB answered with JSON that is not an object', false);
  const answer = json as { success?: unknown; data?: unknown };
  if (answer.success !== true)
    throw new ProviderError(`ImgBB answered without success: true${describeBody(text)}`, false);
  const data = answer.data as { url?: unknown } | null | undefined;
  if (typeof data !== 'object' || data === null) throw new ProviderError('ImgBB answered without a data object', false);
  if (typeof data.url !== 'string' || data.url === '')
    throw new ProviderError('ImgBB answered without data.url', false);
  return data as ImgbbData;
}

/** ImgBB's own message ("Invalid API v1 key.") is the useful part of a refusal. */
function withImgbbReason(err: ProviderError, text: string): ProviderError {
  let message: unknown;
  try {
    message = (JSON.parse(text) as { error?: { message?: unknown } } | null)?.error?.message;
  } catch {
    return err;
  }
  if (typeof message !== 'string' || message === '') return err;
  return new ProviderError(`${err.message.replace(/:.*$/s, '')}: ${message.slice(0, 200)}`, err.retryable, err.options);
}

/** ImgBB titles the image with `name`; the extension would be doubled in its URL. */
export function baseName(fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  return dot > 0 ? fileName.slice(0, dot) : fileName;
}
