/**
 * The work of an upload without the server around it, for bench/upload.ts: the probe and the
 * processing with the server's sharp settings, and optionally the upload's durable local writes
 * as ImageService.ingest makes them (the note of the keys and both files at once, each a temp
 * file, fsync, rename, fsync of its folder; then the note removed). The in-process floors and the
 * bare stack of bench/stack-floor-server.ts run the same code.
 */
import { LocalFileStore } from '../src/files/local-file-store.js';
import { configureSharp, processImage } from '../src/images/process.js';
import { probeImage } from '../src/images/validate.js';

export const PROCESS = { maxInputPixels: 100_000_000, imageMaxKb: 500, thumbnailSize: 256 };

/** `process(input)`; with `filesDir`, `processAndWrite(input)` writes there as an upload does. */
export async function floorWork(filesDir?: string) {
  configureSharp(2);
  // As the server's queue does: a core counts as idle while fewer images than cores are in flight.
  let inFlight = 0;
  const options = { ...PROCESS, spareCore: () => inFlight < 2 };
  const process = async (input: Buffer) => {
    inFlight++;
    try {
      return await processImage(input, await probeImage(input, PROCESS), options);
    } finally {
      inFlight--;
    }
  };
  const files = filesDir ? new LocalFileStore({ root: filesDir }) : null;
  await files?.init();
  let written = 0;
  const processAndWrite = async (input: Buffer) => {
    if (!files) throw new Error('floorWork: no filesDir');
    const out = await process(input);
    const name = `bench_${written++}.${out.ext}`;
    const [key, thumbKey] = [`uploads/${name}`, `thumbnails/thumb_${name}`];
    const [note] = await Promise.all([
      files.journal([key, thumbKey]),
      files.put(key, out.data),
      files.put(thumbKey, out.thumbnail),
    ]);
    await note.done();
    return out;
  };
  return { process, processAndWrite };
}
