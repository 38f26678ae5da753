/**
 * The demo page: a chat over the API, in plain TypeScript over the browser's DOM, bundled at
 * build time (scripts/build-web.mjs). Every operation is typed by codegen from
 * web/operations.graphql. It shows the frontend pattern the server is built for:
 *
 * - the conversation as messages with their images inline: lazy images over a blur-up
 *   placeholder, `displayUrl` with a fallback to `fallbackUrl` on error, and a clear "not
 *   available" when neither copy loads;
 * - uploads as GraphQL multipart requests with the preflight header, each with a progress bar;
 * - live updates without polling: `imageEvents` and `messageAdded` over WebSocket (graphql-ws),
 *   subscribed before the conversation is read, so nothing that happens in between is missed.
 */
import { createClient, type Client } from 'graphql-ws';
// The server's default dev-mode user: the same one curl and GraphiQL get.
import { DEV_USER } from '../src/domain/viewer.js';
import {
  DemoConversationMessagesDocument,
  DemoConversationsDocument,
  DemoCreateConversationDocument,
  DemoDeleteImageDocument,
  DemoImageEventsDocument,
  DemoMessageAddedDocument,
  DemoMessageDocument,
  DemoPostMessageDocument,
  DemoUploadDocument,
  type DemoImageEventsSubscription,
  type DemoImageFragment,
  type DemoMessageAddedSubscription,
  type DemoMessageFragment,
  type TypedDocumentString,
} from './generated/graphql.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const userInput = $<HTMLInputElement>('user');
const tokenInput = $<HTMLInputElement>('token');
const conversationSelect = $<HTMLSelectElement>('conversation');
const transcript = $<HTMLElement>('transcript');
const emptyState = $<HTMLElement>('empty');
const uploadsList = $<HTMLElement>('uploads');
const statusLine = $<HTMLElement>('status');
const errorLine = $<HTMLElement>('error');
const liveBadge = $<HTMLElement>('live');

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

function answer<T>(status: number, text: string): T {
  let body: GraphQLAnswer<T>;
  try {
    body = JSON.parse(text) as GraphQLAnswer<T>;
  } catch {
    throw new ApiError(`The server answered ${status} without a GraphQL body.`);
  }
  if (body.errors?.length) throw new ApiError(body.errors.map((e) => e.message).join(' '));
  if (!body.data) throw new ApiError(`The server answered ${status} without data.`);
  return body.data;
}

async function request<T, V>(doc: TypedDocumentString<T, V>, variables: V): Promise<T> {
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...identity() },
    body: JSON.stringify({ query: doc.toString(), variables }),
  });
  return answer<T>(res.status, await res.text());
}

/**
 * The GraphQL multipart request spec: operations, map, then the file; the preflight header
 * satisfies CSRF prevention. XMLHttpRequest rather than fetch, for its upload progress events.
 */
function upload(
  file: File,
  variables: { conversationId: string; content: string | null; caption: string | null },
  progress: (fraction: number) => void,
) {
  const form = new FormData();
  form.append(
    'operations',
    JSON.stringify({ query: DemoUploadDocument.toString(), variables: { file: null, ...variables } }),
  );
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', file, file.name);
  return new Promise<{ image: DemoImageFragment; message: DemoMessageFragment }>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/graphql');
    for (const [k, v] of Object.entries({ 'apollo-require-preflight': 'true', ...identity() }))
      xhr.setRequestHeader(k, v);
    xhr.upload.addEventListener('progress', (e) => e.lengthComputable && progress(e.loaded / e.total));
    xhr.addEventListener('load', () => {
      try {
        resolve(
          answer<{ uploadImage: { image: DemoImageFragment; message: DemoMessageFragment } }>(
            xhr.status,
            xhr.responseText,
          ).uploadImage,
        );
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
    xhr.addEventListener('error', () => reject(new ApiError('The upload could not reach the server.')));
    xhr.send(form);
  });
}

function showError(e: unknown): void {
  errorLine.textContent = e instanceof Error ? e.message : String(e);
}

// ---- Rendering: one element per message and per image, kept and updated in place.

const messages = new Map<string, { element: HTMLElement; images: HTMLElement; message: DemoMessageFragment }>();
const figures = new Map<
  string,
  { figure: HTMLElement; img: HTMLImageElement; badge: HTMLElement; image: DemoImageFragment }
>();
const withoutQuery = (url: string) => url.split('?')[0];

function renderMessage(message: DemoMessageFragment): void {
  let entry = messages.get(message.id);
  if (!entry) {
    const element = document.createElement('article');
    element.className = `message ${message.role}`;
    element.dataset['testid'] = 'message';
    element.dataset['id'] = message.id;
    const who = document.createElement('div');
    who.className = 'who';
    who.textContent = message.role.toLowerCase();
    const text = document.createElement('div');
    text.className = 'text';
    text.textContent = message.content;
    const images = document.createElement('div');
    images.className = 'images';
    element.append(who, ...(message.content ? [text] : []), images);
    transcript.append(element);
    entry = { element, images, message };
    messages.set(message.id, entry);
  }
  for (const image of message.images) renderImage(image);
  updateEmptyState();
}

function renderImage(image: DemoImageFragment): void {
  const existing = figures.get(image.id);
  if (existing) {
    // Once replicated, displayUrl moves to the cloud copy: switch, unless this page already fell back.
    if (
      withoutQuery(existing.image.displayUrl) !== withoutQuery(image.displayUrl) &&
      existing.img.dataset['fallback'] !== 'used'
    )
      existing.img.src = image.displayUrl;
    existing.image = image;
    updateBadge(image);
    return;
  }
  const holder = messages.get(image.messageId);
  if (!holder) return;
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
  img.alt = image.caption ?? '';
  img.width = image.width;
  img.height = image.height;
  img.addEventListener('load', () => img.classList.add('loaded'));
  img.addEventListener('error', () => {
    const current = figures.get(image.id)?.image ?? image;
    // The cloud copy is unreachable (provider down, copy gone): show this server's copy instead.
    if (current.fallbackUrl && img.dataset['fallback'] !== 'used') {
      img.dataset['fallback'] = 'used';
      img.src = current.fallbackUrl;
      return;
    }
    // Neither copy loads: say so, rather than leave the placeholder blurred forever.
    if (!frame.querySelector('.lost')) {
      const lost = document.createElement('div');
      lost.className = 'lost';
      lost.dataset['testid'] = 'lost';
      lost.textContent = 'Image not available: neither the cloud copy nor this server’s copy could be loaded.';
      frame.append(lost);
    }
  });
  img.src = image.displayUrl;
  frame.append(img);
  const caption = document.createElement('figcaption');
  const badge = document.createElement('span');
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.textContent = 'Delete';
  remove.dataset['testid'] = 'delete';
  remove.addEventListener(
    'click',
    () => void request(DemoDeleteImageDocument, { id: image.id }).then(() => removeImage(image.id), showError),
  );
  if (image.caption) {
    const text = document.createElement('span');
    text.className = 'caption';
    text.textContent = image.caption;
    caption.append(text);
  }
  caption.append(document.createTextNode(`${image.width}×${image.height}`), badge, remove);
  figure.append(frame, caption);
  holder.images.append(figure);
  figures.set(image.id, { figure, img, badge, image });
  updateBadge(image);
}

/** A deleted image goes; so does its message when nothing else is left in it. */
function removeImage(id: string): void {
  const entry = figures.get(id);
  if (!entry) return;
  entry.figure.remove();
  figures.delete(id);
  const holder = messages.get(entry.image.messageId);
  if (holder && !holder.message.content && holder.images.childElementCount === 0) {
    holder.element.remove();
    messages.delete(entry.image.messageId);
  }
  updateEmptyState();
}

function updateBadge(image: DemoImageFragment): void {
  const entry = figures.get(image.id);
  if (!entry) return;
  entry.badge.className = `badge ${image.replicationStatus}`;
  entry.badge.dataset['testid'] = 'replication';
  entry.badge.textContent =
    image.service === 'LOCAL' ? image.replicationStatus : `${image.replicationStatus} · ${image.service}`;
}

function updateEmptyState(): void {
  const none = conversationSelect.options.length === 0;
  emptyState.hidden = !none && messages.size > 0;
  emptyState.textContent = none
    ? 'No conversations yet: create one on the left, or drop an image here to start one.'
    : 'No messages yet: write one below, or drop images here.';
}

function clearTranscript(): void {
  transcript.replaceChildren();
  messages.clear();
  figures.clear();
}

// ---- Live updates: one WebSocket, two subscriptions for the open conversation.

let live: Client | null = null;
let unsubscribe: (() => void)[] = [];

function connect(): Client {
  live?.dispose();
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
  live = createClient({
    url,
    connectionParams: identity,
    // Connected at once, so the badge tells whether live updates work before anything is open.
    lazy: false,
    retryAttempts: Infinity,
    on: {
      connected: () => ((liveBadge.textContent = 'live'), liveBadge.classList.add('on')),
      closed: (event) => {
        liveBadge.classList.remove('on');
        const reason = (event as CloseEvent).reason;
        liveBadge.textContent = reason ? `offline: ${reason}` : 'offline';
      },
    },
  });
  return live;
}

function subscribe(conversationId: string): void {
  for (const stop of unsubscribe) stop();
  const client = live ?? connect();
  unsubscribe = [
    client.subscribe<DemoImageEventsSubscription>(
      { query: DemoImageEventsDocument.toString(), variables: { conversationId } },
      {
        next: ({ data, errors }) => {
          if (errors?.length) return showError(new ApiError(errors.map((e) => e.message).join(' ')));
          const event = data?.imageEvents;
          if (!event) return;
          if (event.kind === 'DELETED' || !event.image) return removeImage(event.imageId);
          if (messages.has(event.image.messageId)) return renderImage(event.image);
          // An image of a message this page has not shown yet: read the message with its images.
          void request(DemoMessageDocument, { id: event.image.messageId }).then(
            (d) => d.message && renderMessage(d.message),
            showError,
          );
        },
        error: showError,
        complete: () => undefined,
      },
    ),
    client.subscribe<DemoMessageAddedSubscription>(
      { query: DemoMessageAddedDocument.toString(), variables: { conversationId } },
      {
        next: ({ data }) => data?.messageAdded && renderMessage(data.messageAdded),
        error: showError,
        complete: () => undefined,
      },
    ),
  ];
}

// ---- Loading.

async function loadConversations(select?: string): Promise<void> {
  const data = await request(DemoConversationsDocument, {});
  conversationSelect.replaceChildren(
    ...data.conversations.edges.map(({ node }) => new Option(node.title ?? 'Untitled', node.id)),
  );
  if (select) conversationSelect.value = select;
  await openConversation();
}

async function openConversation(): Promise<void> {
  clearTranscript();
  const id = conversationSelect.value;
  updateEmptyState();
  if (!id) return;
  // Subscribed first, then read: whatever happens in between arrives as an event.
  subscribe(id);
  const data = await request(DemoConversationMessagesDocument, { id });
  for (const { node } of data.conversation?.messages.edges ?? []) renderMessage(node);
  statusLine.textContent = `${figures.size} image(s) in ${messages.size} message(s)`;
}

async function ensureConversation(): Promise<string> {
  if (conversationSelect.value) return conversationSelect.value;
  const created = (await request(DemoCreateConversationDocument, { title: 'Demo' })).createConversation.id;
  await loadConversations(created);
  return created;
}

// ---- Sending.

async function send(files: File[]): Promise<void> {
  errorLine.textContent = '';
  const text = $<HTMLTextAreaElement>('text');
  const captionInput = $<HTMLInputElement>('caption');
  const content = text.value.trim();
  const caption = captionInput.value.trim() || null;
  if (!content && files.length === 0) return;
  const conversationId = await ensureConversation();
  if (files.length === 0) {
    renderMessage((await request(DemoPostMessageDocument, { conversationId, content })).postMessage);
  }
  // The text goes with the first image; each image is its own upload, with its own progress bar.
  await Promise.all(
    files.map(async (file, i) => {
      const row = document.createElement('li');
      row.dataset['testid'] = 'upload';
      const bar = document.createElement('progress');
      bar.max = 1;
      bar.value = 0;
      row.append(document.createTextNode(file.name), bar);
      uploadsList.append(row);
      try {
        const done = await upload(
          file,
          { conversationId, content: i === 0 && content ? content : null, caption },
          (f) => (bar.value = f),
        );
        bar.value = 1;
        renderMessage(done.message);
      } catch (e) {
        showError(new ApiError(`${file.name}: ${e instanceof Error ? e.message : String(e)}`));
      } finally {
        row.remove();
      }
    }),
  );
  text.value = '';
  captionInput.value = '';
  statusLine.textContent = `${figures.size} image(s) in ${messages.size} message(s)`;
}

$<HTMLFormElement>('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  void send([]).catch(showError);
});

$<HTMLInputElement>('file').addEventListener('change', (event) => {
  const input = event.target as HTMLInputElement;
  if (input.files?.length)
    void send(Array.from(input.files))
      .catch(showError)
      .finally(() => (input.value = ''));
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
  if (e.dataTransfer?.files.length) void send(Array.from(e.dataTransfer.files)).catch(showError);
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

conversationSelect.addEventListener('change', () => void openConversation().catch(showError));

for (const input of [userInput, tokenInput]) {
  input.addEventListener('change', () => {
    localStorage.setItem('demo.user', userInput.value.trim());
    localStorage.setItem('demo.token', tokenInput.value.trim());
    // A new identity needs a new connection: connection_init carries it.
    connect();
    void loadConversations().catch(showError);
  });
}

connect();
void loadConversations().catch(showError);
