import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { BSON, type Document } from 'mongodb';

/** One document of an export file, or why the line holding it could not be read. */
export type ExportEntry = { ok: true; doc: Document; line: number } | { ok: false; line: number; reason: string };

/**
 * The documents of a file `mongoexport` wrote: JSON lines (its default) or one JSON array
 * (`--jsonArray`), in Extended JSON v2, relaxed or canonical (`{"$oid": …}`, `{"$date": …}`,
 * `{"$numberLong": …}`), read back into BSON values (ObjectId, Date, numbers). JSON lines are
 * streamed, so a large export costs one line of memory at a time; an array is read whole.
 * A line that is not a JSON object is reported with its number and the rest is read.
 */
export async function* readExportFile(path: string): AsyncIterable<ExportEntry> {
  if ((await firstNonSpace(path)) === '[') {
    let docs: unknown;
    try {
      docs = BSON.EJSON.parse((await readFile(path, 'utf8')).replace(/^\uFEFF/, ''), { relaxed: true });
    } catch (e) {
      yield { ok: false, line: 1, reason: `not an Extended JSON array: ${(e as Error).message}` };
      return;
    }
    let i = 0;
    for (const doc of docs as unknown[]) {
      i++;
      yield isDocument(doc)
        ? { ok: true, doc, line: i }
        : { ok: false, line: i, reason: `element ${i} of the array is not an object` };
    }
    return;
  }
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const text of lines) {
    n++;
    const line = n === 1 ? text.replace(/^\uFEFF/, '') : text;
    if (line.trim() === '') continue;
    let doc: unknown;
    try {
      doc = BSON.EJSON.parse(line, { relaxed: true });
    } catch (e) {
      yield { ok: false, line: n, reason: `not Extended JSON: ${(e as Error).message}` };
      continue;
    }
    yield isDocument(doc) ? { ok: true, doc, line: n } : { ok: false, line: n, reason: 'not a JSON object' };
  }
}

function isDocument(v: unknown): v is Document {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The first character that is not white space (or a byte order mark), '' for an empty file. */
async function firstNonSpace(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(4096);
    for (let position = 0; ;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return '';
      // \s covers the byte order mark.
      const match = /\S/.exec(buffer.subarray(0, bytesRead).toString('utf8'));
      if (match) return match[0];
      position += bytesRead;
    }
  } finally {
    await handle.close();
  }
}
