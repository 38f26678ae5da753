/**
 * Real HTTP emulators of the cloud providers' upload APIs (formats as documented in
 * src/cloud/imgbb.ts and postimages.ts). They also act as the CDN: the URLs
 * they hand out are served back by the same server, so a test can check the bytes.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, type Socket } from 'node:net';

export type Mode =
  | 'ok'
  | 'error500'
  | 'rate429'
  | 'hang'
  | 'malformed'
  | 'html'
  | 'nourl'
  | 'slow'
  | 'reset'
  | 'wronghost'
  | 'otherport'
  | 'userinfo'
  | 'altered'
  | 'huge';

export interface EmulatedUpload {
  name: string;
  bytes: Buffer;
  fields: Record<string, string>;
}

export interface Emulator {
  apiUrl: string;
  /** The origin the emulator serves its API and CDN from (`http://127.0.0.1:<port>`): the entry that allows its URLs. */
  origin: string;
  /** The key the emulator accepts; any other is refused like the real API does. */
  apiKey: string;
  uploads: EmulatedUpload[];
  /** Upload requests received in any mode, answered or not. */
  requests: number;
  deletions: string[];
  mode: Mode;
  slowMs: number;
  /** Added to every answer (API, CDN and delete), as a distant provider would. */
  latencyMs: number;
  /** Added to CDN answers only (a slow download while the API answers at once). */
  cdnLatencyMs: number;
  /** While set, CDN answers wait for it (tests hold a download in flight while something else runs). */
  cdnHold: Promise<void> | null;
  /** CDN requests waiting on cdnHold right now. */
  cdnHeld: number;
  /** Copies the CDN serves, by `<id>/<name>.<ext>`; a deletion removes its copy. */
  stored: Map<string, Buffer>;
  /** CDN downloads served, by `<id>/<name>.<ext>`. */
  downloads: Map<string, number>;
  setMode(m: Mode): void;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  apiKey?: string;
  slowMs?: number;
  latencyMs?: number;
}

interface Answer {
  status: number;
  type: string;
  body: string;
  headers?: Record<string, string>;
}

interface Flavour {
  path: string;
  ok(base: string, id: string, name: string, ext: string): Answer;
  badKey(): Answer;
  malformed(): Answer;
  nourl(): Answer;
}

const HTML: Answer = {
  status: 200,
  type: 'text/html; charset=utf-8',
  body: '<!DOCTYPE html><html><body><h1>Welcome</h1></body></html>',
};

const MIME: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
};

const imgbb: Flavour = {
  path: '/1/upload',
  ok: (base, id, name, ext) => ({
    status: 200,
    type: 'application/json',
    body: JSON.stringify({
      data: {
        id,
        title: name,
        url_viewer: `${base}/v/${id}`,
        url: `${base}/i/${id}/${name}.${ext}`,
        display_url: `${base}/i/${id}/${name}.${ext}`,
        size: '42',
        time: String(Math.floor(Date.now() / 1000)),
        expiration: '0',
        delete_url: `${base}/delete/${id}`,
      },
      success: true,
      status: 200,
    }),
  }),
  badKey: () => ({
    status: 400,
    type: 'application/json',
    body: JSON.stringify({
      status_code: 400,
      error: { message: 'Invalid API v1 key.', code: 100 },
      status_txt: 'Bad Request',
    }),
  }),
  malformed: () => ({ status: 200, type: 'application/json', body: '{"data": {"url": "http://127.0.0.1/' }),
  nourl: () => ({
    status: 200,
    type: 'application/json',
    body: JSON.stringify({ data: { id: 'x1' }, success: true, status: 200 }),
  }),
};

const postimages: Flavour = {
  path: '/1/upload',
  ok: (base, id, name, ext) => ({
    status: 200,
    type: 'text/xml; charset=utf-8',
    body:
      `<?xml version="1.0" encoding="UTF-8"?>\n<data success="1" status="200"><links>` +
      `<page>${base}/p/${id}</page><hotlink>${base}/i/${id}/${name}.${ext}</hotlink>` +
      `<delete>${base}/delete/${id}</delete><thumbnail>${base}/i/${id}/${name}.${ext}</thumbnail></links></data>`,
  }),
  badKey: () => ({
    status: 200,
    type: 'text/xml',
    body: '<?xml version="1.0"?>\n<data success="0" status="403"><error>Invalid key</error></data>',
  }),
  malformed: () => ({
    status: 200,
    type: 'text/xml',
    body: '<?xml version="1.0"?>\n<data success="1"><links><hotlink>http://127.0.0.1/i/',
  }),
  nourl: () => ({
    status: 200,
    type: 'text/xml',
    body: '<?xml version="1.0"?>\n<data success="1"><links><page>http://127.0.0.1/p/x</page></links></data>',
  }),
};

export function startImgbbEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  return start(imgbb, options);
}

export function startPostImagesEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  return start(postimages, options);
}

/** Both emulators, and the env of a server whose chain is `postimages,imgbb` on them. */
export async function startChainEmulators(): Promise<{
  postimages: Emulator;
  imgbb: Emulator;
  env: Record<string, string>;
  stop(): Promise<void>;
}> {
  const [postimages, imgbb] = await Promise.all([startPostImagesEmulator(), startImgbbEmulator()]);
  return {
    postimages,
    imgbb,
    env: {
      CLOUD_PROVIDERS: 'postimages,imgbb',
      POSTIMAGES_API_KEY: postimages.apiKey,
      POSTIMAGES_API_URL: postimages.apiUrl,
      IMGBB_API_KEY: imgbb.apiKey,
      IMGBB_API_URL: imgbb.apiUrl,
    },
    stop: async () => {
      await Promise.all([postimages.stop(), imgbb.stop()]);
    },
  };
}

async function start(flavour: Flavour, options: EmulatorOptions): Promise<Emulator> {
  const stored = new Map<string, Buffer>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let base = '';

  const emu: Emulator = {
    apiUrl: '',
    origin: '',
    apiKey: options.apiKey ?? 'test-key',
    uploads: [],
    deletions: [],
    mode: 'ok',
    requests: 0,
    slowMs: options.slowMs ?? 300,
    latencyMs: options.latencyMs ?? 0,
    cdnLatencyMs: 0,
    cdnHold: null,
    cdnHeld: 0,
    stored,
    downloads: new Map(),
    setMode(m) {
      emu.mode = m;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        // 'hang' leaves requests open forever; without this, close() would never return.
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };

  const send = (res: ServerResponse, a: Answer) => {
    res.writeHead(a.status, { 'Content-Type': a.type, ...a.headers });
    res.end(a.body);
  };

  const upload = async (req: IncomingMessage, res: ServerResponse) => {
    emu.requests++;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const mode = emu.mode;
    if (mode === 'hang') return;
    if (mode === 'reset') return void req.socket.destroy();
    if (mode === 'error500') return send(res, { status: 500, type: 'text/plain', body: 'Internal Server Error' });
    if (mode === 'rate429')
      return send(res, { status: 429, type: 'text/plain', body: 'Too Many Requests', headers: { 'Retry-After': '1' } });
    if (mode === 'html') return send(res, HTML);
    // An answer larger than any image: the client must stop reading it and refuse it.
    if (mode === 'huge')
      return send(res, { status: 200, type: 'application/octet-stream', body: 'x'.repeat(3 * 1024 * 1024) });

    const fields = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
    if (fields.key !== emu.apiKey) return send(res, flavour.badKey());
    if (!fields.image) return send(res, { status: 400, type: 'text/plain', body: 'no image' });
    if (mode === 'malformed') return send(res, flavour.malformed());
    if (mode === 'nourl') return send(res, flavour.nourl());

    const id = randomBytes(6).toString('hex');
    const name = (fields.name ?? 'image').replace(/[^\w.-]/g, '_');
    const bytes = Buffer.from(fields.image, 'base64');
    const ext = fields.type ?? sniffExtension(bytes);
    stored.set(`${id}/${name}.${ext}`, bytes);
    emu.uploads.push({ name, bytes, fields });

    // wronghost: another host; otherport: the same host on another port (a service beside the
    // provider); userinfo: credentials smuggled into the URL.
    const hotBase =
      mode === 'wronghost'
        ? base.replace('127.0.0.1', 'localhost')
        : mode === 'otherport'
          ? base.replace(/:\d+$/, ':1')
          : mode === 'userinfo'
            ? base.replace('http://', 'http://evil@')
            : base;
    const answer = flavour.ok(hotBase, id, name, ext);
    if (mode !== 'slow') return send(res, answer);
    const t = setTimeout(() => {
      timers.delete(t);
      send(res, answer);
    }, emu.slowMs);
    timers.add(t);
  };

  const cdn = (path: string, res: ServerResponse) => {
    const key = decodeURIComponent(path.slice('/i/'.length));
    const bytes = stored.get(key);
    if (!bytes) return send(res, { status: 404, type: 'text/plain', body: 'not found' });
    const out = Buffer.from(bytes);
    if (emu.mode === 'altered' && out.length > 0) out[out.length >> 1]! ^= 0xff;
    const ext = key.slice(key.lastIndexOf('.') + 1).toLowerCase();
    emu.downloads.set(key, (emu.downloads.get(key) ?? 0) + 1);
    res.writeHead(200, { 'Content-Type': MIME[ext] ?? 'application/octet-stream', 'Content-Length': out.length });
    res.end(out);
  };

  // The delete page of a copy: it goes from the CDN. In error500 mode deletion fails like uploads do.
  const remove = (path: string, res: ServerResponse) => {
    if (emu.mode === 'error500') return send(res, { status: 500, type: 'text/plain', body: 'Internal Server Error' });
    const id = path.slice('/delete/'.length);
    emu.deletions.push(id);
    for (const key of [...stored.keys()]) if (key.startsWith(`${id}/`)) stored.delete(key);
    send(res, { status: 200, type: 'text/html', body: '<!DOCTYPE html><html><body>Image deleted.</body></html>' });
  };

  const route = (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', base).pathname;
    if (req.method === 'POST' && path === flavour.path) {
      upload(req, res).catch(() => res.destroy());
    } else if (req.method === 'GET' && path.startsWith('/i/')) {
      if (emu.cdnHold) {
        emu.cdnHeld++;
        void emu.cdnHold.then(() => {
          emu.cdnHeld--;
          cdn(path, res);
        });
        return;
      }
      if (emu.cdnLatencyMs <= 0) return cdn(path, res);
      const t = setTimeout(() => {
        timers.delete(t);
        cdn(path, res);
      }, emu.cdnLatencyMs);
      timers.add(t);
    } else if (req.method === 'GET' && path.startsWith('/delete/')) {
      remove(path, res);
    } else {
      send(res, { status: 404, type: 'text/plain', body: 'not found' });
    }
  };
  const server = createServer((req, res) => {
    if (emu.latencyMs <= 0) return route(req, res);
    const t = setTimeout(() => {
      timers.delete(t);
      route(req, res);
    }, emu.latencyMs);
    timers.add(t);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;
  emu.apiUrl = `${base}${flavour.path}`;
  emu.origin = base;
  return emu;
}

/** ImgBB detects the format itself; the emulator only needs a plausible CDN extension. */
function sniffExtension(b: Buffer): string {
  if (b.subarray(0, 4).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47]))) return 'png';
  if (b.subarray(0, 3).toString('latin1') === 'GIF') return 'gif';
  if (b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP') return 'webp';
  return 'jpg';
}
