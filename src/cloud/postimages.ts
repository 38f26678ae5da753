/*
 * PostImages publishes no official API. This speaks the UNOFFICIAL upload API of its
 * desktop uploader (as used by its Windows app and third-party clients); it may change
 * without notice, which is why the answer is checked strictly and any doubt is a
 * non-retryable failure rather than a stored bogus URL.
 *
 *   POST https://api.postimage.org/1/upload   (application/x-www-form-urlencoded)
 *     key      the API key
 *     o        md5 hex identifying the client application
 *     m        md5 hex identifying the client instance / upload
 *     version  1.0.1
 *     portable 1
 *     name     file name without extension
 *     type     extension (jpg, png, ...)
 *     image    base64 of the bytes
 *     gallery  (optional) gallery id
 *
 *   200 <data success="1"><links><page>https://postimg.cc/…</page>
 *        <hotlink>https://i.postimg.cc/…/name.jpg</hotlink>
 *        <delete>https://postimg.cc/delete/…</delete><thumbnail>…</thumbnail></links></data>
 *   refusal: <data success="0">…</data>
 */
import { createHash } from 'node:crypto';
import { type AxiosInstance } from 'axios';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { bodyText, classify, createHttpClient, describeBody, isHtmlAnswer, postForm } from './http.js';
import { baseName } from './imgbb.js';
import { checkCloudUrl, type CloudCopy, type CloudProvider, ProviderError, type UploadFile } from './provider.js';

export interface PostImagesOptions {
  apiKey: string;
  apiUrl: string;
  timeoutMs: number;
  requireHttps: boolean;
  extraHosts?: string[];
  gallery?: string;
}

export const POSTIMAGES_HOSTS: readonly string[] = ['i.postimg.cc'];
/** Viewer and delete pages live on the site, not on the image CDN. */
export const POSTIMAGES_PAGE_HOSTS: readonly string[] = ['postimg.cc', 'postimages.org'];

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const CLIENT_NAME_HASH = md5('hybrid-image-store');

// Values stay strings: parseTagValue would turn an all-digit id into a number.
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
});

export class PostImagesProvider implements CloudProvider {
  readonly name = 'POSTIMAGES' as const;
  readonly allowedHosts: readonly string[];
  private readonly pageHosts: readonly string[];
  private readonly http: AxiosInstance;

  constructor(private readonly options: PostImagesOptions) {
    this.allowedHosts = [...POSTIMAGES_HOSTS, ...(options.extraHosts ?? [])];
    this.pageHosts = [...POSTIMAGES_PAGE_HOSTS, ...(options.extraHosts ?? [])];
    this.http = createHttpClient(options.timeoutMs);
  }

  async upload(file: UploadFile, signal: AbortSignal): Promise<CloudCopy> {
    const dot = file.fileName.lastIndexOf('.');
    const form = new URLSearchParams({
      key: this.options.apiKey,
      o: CLIENT_NAME_HASH,
      m: md5(file.sha256),
      version: '1.0.1',
      portable: '1',
      name: baseName(file.fileName),
      type: dot > 0 ? file.fileName.slice(dot + 1).toLowerCase() : '',
      image: file.data.toString('base64'),
    });
    if (this.options.gallery) form.set('gallery', this.options.gallery);

    const response = await postForm(this.http, this.options.apiUrl, form, 'application/xml, text/xml', signal);
    const failed = classify(response);
    if (failed) throw failed;
    const text = bodyText(response);
    if (isHtmlAnswer(response))
      throw new ProviderError(`PostImages answered with an HTML page instead of XML${describeBody(text)}`, false, {
        status: response.status,
      });

    const links = parseAnswer(text);
    return {
      url: checkCloudUrl(links.hotlink, this.allowedHosts, this.options.requireHttps),
      deleteUrl: this.pageUrlOrNull(links.delete),
      providerId: this.pageUrlOrNull(links.page),
    };
  }

  /** Server side only: the delete link is a capability and must never reach a browser. */
  async delete(copy: CloudCopy, signal: AbortSignal): Promise<void> {
    if (!copy.deleteUrl) throw new ProviderError('this PostImages copy has no delete URL', false);
    const url = checkCloudUrl(copy.deleteUrl, this.pageHosts, this.options.requireHttps);
    let response;
    try {
      response = await this.http.get(url, { signal });
    } catch (err) {
      throw classify(err);
    }
    const failed = classify(response);
    if (failed) throw failed;
  }

  /** Optional links are kept only when they are on the provider's site; otherwise dropped. */
  private pageUrlOrNull(url: string | undefined): string | null {
    if (!url) return null;
    try {
      return checkCloudUrl(url, this.pageHosts, this.options.requireHttps);
    } catch {
      return null;
    }
  }
}

interface Links {
  hotlink: string;
  page?: string;
  delete?: string;
}

function parseAnswer(text: string): Links {
  // The parser is lenient by design; the validator is what rejects truncated answers.
  const valid = text.trim() !== '' && XMLValidator.validate(text);
  if (valid !== true) {
    const why = valid === false ? 'empty' : valid.err.msg;
    throw new ProviderError(`PostImages answered with something that is not XML (${why})${describeBody(text)}`, false);
  }
  let doc: unknown;
  try {
    doc = parser.parse(text);
  } catch (cause) {
    throw new ProviderError(`PostImages answered with XML that does not parse${describeBody(text)}`, false, { cause });
  }
  const data = (doc as { data?: unknown } | null)?.data;
  if (typeof data !== 'object' || data === null)
    throw new ProviderError(`PostImages answered without a <data> element${describeBody(text)}`, false);
  const { '@_success': success, links } = data as { '@_success'?: unknown; links?: unknown };
  if (success !== '1')
    throw new ProviderError(`PostImages refused the upload (success="${String(success)}")${describeBody(text)}`, false);
  if (typeof links !== 'object' || links === null)
    throw new ProviderError('PostImages answered without <links>', false);
  const l = links as Record<string, unknown>;
  if (typeof l.hotlink !== 'string' || l.hotlink === '')
    throw new ProviderError('PostImages answered without a <hotlink>', false);
  return {
    hotlink: l.hotlink,
    page: typeof l.page === 'string' ? l.page : undefined,
    delete: typeof l.delete === 'string' ? l.delete : undefined,
  };
}
