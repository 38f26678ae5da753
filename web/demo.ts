/**
 * The demo page: plain TypeScript over the browser's DOM and fetch, bundled at build time
 * (scripts/build-web.mjs). Every operation is typed by codegen from web/operations.graphql.
 * It shows the frontend pattern the server is built for: multipart uploads with the preflight
 * header, lazy images with a blur-up placeholder, displayUrl with a fallback on error, and
 * polling until replication settles.
 */
import {
  DemoConversationImagesDocument,
  DemoConversationsDocument,
  DemoCreateConversationDocument,
  DemoUploadDocument,
  type DemoImageFragment,
  type TypedDocumentString,
} from './generated/graphql.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const userInput = $<HTMLInputElement>('user');
const tokenInput = $<HTMLInputElement>('token');
const conversationSelect = $<HTMLSelectElement>('conversation');
const gallery = $<HTMLElement>('gallery');
const statusLine = $<HTMLElement>('status');
const errorLine = $<HTMLElement>('error');

/** The server's default dev-mode user (DEV_USER in src/http/identity.ts): the same one curl and GraphiQL get. */
const DEV_USER = 'dev';

userInput.value = localStorage.getItem('demo.user') ?? DEV_USER;
tokenInput.value = localStorage.getItem('demo.token') ?? '';

interface GraphQLAnswer<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

class ApiError extends Error {}

function identity(): Record<string, string> {
  const token = tokenInput.value.trim();
  return token ? { authorization: `Bearer ${token}` } : { 'x-user-id': userInput.value.trim() || DEV_USER };
}

async function answer<T>(res: Response): Promise<T> {
  let body: GraphQLAnswer<T>;
  try {
    body = (await res.json()) as GraphQLAnswer<T>;
  } catch {
    throw new ApiError(`The server answered ${res.status} without a GraphQL body.`);
  }
  if (body.errors?.length) throw new ApiError(body.errors.map((e) => e.message).join(' '));
  if (!body.data) throw new ApiError(`The server answered ${res.status} without data.`);
  return body.data;
}

async function request<T, V>(doc: TypedDocumentString<T, V>, variables: V): Promise<T> {
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...identity() },
    body: JSON.stringify({ query: doc.toString(), variables }),
  });
  return answer<T>(res);
}

/** The GraphQL multipart request spec: operations, map, then the file; the preflight header satisfies CSRF prevention. */
async function upload(file: File, conversationId: string): Promise<DemoImageFragment> {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: DemoUploadDocument.toString(), variables: { file: null, conversationId } }));
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', file, file.name);
  const res = await fetch('/graphql', { method: 'POST', headers: { 'apollo-require-preflight': 'true', ...identity() }, body: form });
  const data = await answer<{ uploadImage: { image: DemoImageFragment } }>(res);
  return data.uploadImage.image;
}

function showError(e: unknown): void {
  errorLine.textContent = e instanceof Error ? e.message : String(e);
}

async function loadConversations(select?: string): Promise<void> {
  const data = await request(DemoConversationsDocument, {});
  conversationSelect.replaceChildren(
    ...data.conversations.edges.map(({ node }) => new Option(`${node.title ?? 'Untitled'} (${node.imageCount})`, node.id)),
  );
  if (select) conversationSelect.value = select;
  await loadImages();
}

/** One figure per image, kept across refreshes so a loaded image is not loaded again. */
const shown = new Map<string, { figure: HTMLElement; img: HTMLImageElement; badge: HTMLElement; image: DemoImageFragment }>();
const withoutQuery = (url: string) => url.split('?')[0];

function figureFor(image: DemoImageFragment): HTMLElement {
  const figure = document.createElement('figure');
  figure.dataset['testid'] = 'image';
  figure.dataset['id'] = image.id;
  const frame = document.createElement('div');
  frame.className = 'frame';
  // Blur-up: the tiny placeholder shows at once, the image fades in over it when loaded.
  if (image.placeholder) frame.style.backgroundImage = `url("${image.placeholder}")`;
  const img = document.createElement('img');
  img.loading = 'lazy';
  img.decoding = 'async';
  img.alt = '';
  img.width = image.width;
  img.height = image.height;
  img.addEventListener('load', () => img.classList.add('loaded'));
  // The cloud copy is unreachable (provider down, copy gone): show this server's copy instead.
  img.addEventListener('error', () => {
    const current = shown.get(image.id)?.image ?? image;
    if (current.fallbackUrl && img.dataset['fallback'] !== 'used') {
      img.dataset['fallback'] = 'used';
      img.src = current.fallbackUrl;
    }
  });
  img.src = image.displayUrl;
  frame.append(img);
  const caption = document.createElement('figcaption');
  const badge = document.createElement('span');
  caption.append(document.createTextNode(`${image.width}×${image.height}`), badge);
  figure.append(frame, caption);
  shown.set(image.id, { figure, img, badge, image });
  updateBadge(image);
  return figure;
}

function updateBadge(image: DemoImageFragment): void {
  const entry = shown.get(image.id);
  if (!entry) return;
  entry.badge.className = `badge ${image.replicationStatus}`;
  entry.badge.dataset['testid'] = 'replication';
  entry.badge.textContent = image.service === 'LOCAL' ? image.replicationStatus : `${image.replicationStatus} · ${image.service}`;
}

let polling: number | undefined;

async function loadImages(): Promise<void> {
  window.clearTimeout(polling);
  const id = conversationSelect.value;
  if (!id) {
    gallery.replaceChildren();
    shown.clear();
    return;
  }
  const data = await request(DemoConversationImagesDocument, { id });
  const images = (data.conversation?.messages.edges ?? []).flatMap((e) => e.node.images).reverse();
  const figures = images.map((image) => {
    const entry = shown.get(image.id);
    if (!entry) return figureFor(image);
    // Once replicated, displayUrl moves to the cloud copy: switch, unless we already fell back.
    if (withoutQuery(entry.image.displayUrl) !== withoutQuery(image.displayUrl) && entry.img.dataset['fallback'] !== 'used') entry.img.src = image.displayUrl;
    entry.image = image;
    updateBadge(image);
    return entry.figure;
  });
  gallery.replaceChildren(...figures);
  const unsettled = images.filter((i) => i.replicationStatus === 'PENDING' || i.replicationStatus === 'RETRYING').length;
  statusLine.textContent = `${images.length} image(s)${unsettled ? `, ${unsettled} waiting for a cloud copy` : ''}`;
  // Replication runs in the background: look again until every image has settled.
  if (unsettled) polling = window.setTimeout(() => void loadImages().catch(showError), 1000);
}

async function uploadAll(files: FileList | File[]): Promise<void> {
  errorLine.textContent = '';
  let conversationId = conversationSelect.value;
  if (!conversationId) {
    conversationId = (await request(DemoCreateConversationDocument, { title: 'Demo' })).createConversation.id;
    await loadConversations(conversationId);
  }
  for (const file of Array.from(files)) {
    statusLine.textContent = `Uploading ${file.name}…`;
    try {
      await upload(file, conversationId);
    } catch (e) {
      showError(new ApiError(`${file.name}: ${e instanceof Error ? e.message : String(e)}`));
    }
  }
  await loadConversations(conversationId);
}

$<HTMLInputElement>('file').addEventListener('change', (event) => {
  const input = event.target as HTMLInputElement;
  if (input.files?.length) void uploadAll(input.files).catch(showError).finally(() => (input.value = ''));
});

const drop = $<HTMLElement>('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  if (e.dataTransfer?.files.length) void uploadAll(e.dataTransfer.files).catch(showError);
});

$<HTMLFormElement>('new-conversation').addEventListener('submit', (e) => {
  e.preventDefault();
  const title = $<HTMLInputElement>('title');
  void request(DemoCreateConversationDocument, { title: title.value.trim() || null })
    .then((d) => {
      title.value = '';
      return loadConversations(d.createConversation.id);
    })
    .catch(showError);
});

conversationSelect.addEventListener('change', () => {
  shown.clear();
  void loadImages().catch(showError);
});

for (const input of [userInput, tokenInput]) {
  input.addEventListener('change', () => {
    localStorage.setItem('demo.user', userInput.value.trim());
    localStorage.setItem('demo.token', tokenInput.value.trim());
    shown.clear();
    void loadConversations().catch(showError);
  });
}

void loadConversations().catch(showError);
