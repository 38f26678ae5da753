import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

/**
 * A GraphQL multipart request (https://github.com/jaydenseric/graphql-multipart-request-spec)
 * sent with Node's own fetch and FormData, as a browser would send it.
 */
export async function multipart(
  url: string,
  o: {
    query: string;
    variables: Record<string, unknown>;
    /** Field name → [variable path, bytes, file name]. */
    files: Record<string, { path: string; data: Buffer; name?: string; type?: string }>;
    headers?: Record<string, string>;
    preflight?: boolean;
  },
): Promise<{
  status: number;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] };
}> {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: o.query, variables: o.variables }));
  form.append(
    'map',
    JSON.stringify(Object.fromEntries(Object.entries(o.files).map(([field, f]) => [field, [f.path]]))),
  );
  for (const [field, f] of Object.entries(o.files)) {
    form.append(
      field,
      new Blob([new Uint8Array(f.data)], { type: f.type ?? 'application/octet-stream' }),
      f.name ?? 'upload.bin',
    );
  }
  const res = await fetch(url, {
    method: 'POST',
    headers: { ...(o.preflight === false ? {} : { 'apollo-require-preflight': 'true' }), ...o.headers },
    body: form,
  });
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text) as never;
  } catch {
    throw new Error(`not JSON (${res.status}): ${text.slice(0, 300)}`);
  }
  return { status: res.status, body };
}

/** Every file under a directory with its size, to prove a refused upload wrote nothing. */
export async function listFiles(root: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  async function walk(dir: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else out[relative(root, p)] = (await stat(p)).size;
    }
  }
  await walk(root);
  return out;
}
