/**
 * The three kinds of image a chat sees, made deterministically from the repository's
 * public-domain photos (nothing downloaded, the same bytes on every machine), for the seed
 * comparison bench and the quality-floor test:
 *
 * - `render`: a 1024×1024 PNG like a diffusion model's output (smooth shading, fine detail);
 * - `screenshot`: a 1920×1080 PNG of a chat UI (flat colours, hard edges, glyph-like strokes, a
 *   photo in a message);
 * - `photo`: a 12 MP (4032×3024) camera JPEG at quality 92 with luma grain (σ 7), the kind whose
 *   grain a 500 KB cap cannot keep.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { prng } from './prng.js';

export type ImageClass = 'render' | 'screenshot' | 'photo';
export const IMAGE_CLASSES: readonly ImageClass[] = ['render', 'screenshot', 'photo'];

async function render(): Promise<Buffer> {
  const base = await sharp('test/fixtures/astronaut.png')
    .resize(1024, 1024, { kernel: 'lanczos3' })
    .sharpen({ sigma: 0.8 })
    .removeAlpha()
    .toBuffer();
  // A soft key light from the top left, as renders have.
  const light = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="1024" height="1024"><defs><radialGradient id="g" cx="0.3" cy="0.25" r="0.9"><stop offset="0" stop-color="#fff6e0" stop-opacity="0.35"/><stop offset="1" stop-color="#102040" stop-opacity="0.35"/></radialGradient></defs><rect width="1024" height="1024" fill="url(#g)"/></svg>`,
  );
  // Flattened after the composite (which adds an alpha channel): renders are RGB.
  const lit = await sharp(base)
    .composite([{ input: light, blend: 'soft-light' }])
    .removeAlpha()
    .toBuffer();
  return sharp(lit).png({ compressionLevel: 6 }).toBuffer();
}

async function screenshot(): Promise<Buffer> {
  const random = prng(1080);
  const parts: string[] = [
    '<rect width="1920" height="1080" fill="#f7f7f8"/>',
    '<rect width="300" height="1080" fill="#202123"/>',
  ];
  // Sidebar entries and message lines: rows of glyph-sized strokes with word gaps.
  const line = (x: number, y: number, width: number, colour: string) => {
    let at = x;
    while (at < x + width) {
      const word = 12 + Math.floor(random() * 70);
      for (let c = 0; c < word && at + c < x + width; c += 8)
        parts.push(
          `<rect x="${at + c}" y="${y + (random() < 0.3 ? 0 : 3)}" width="6" height="${random() < 0.3 ? 13 : 10}" rx="1" fill="${colour}"/>`,
        );
      at += word + 9;
    }
  };
  for (let i = 0; i < 22; i++) line(24, 90 + i * 42, 200 + random() * 50, '#c5c5d2');
  for (let m = 0; m < 4; m++) {
    const y = 60 + m * 250;
    const user = m % 2 === 0;
    parts.push(
      `<rect x="${user ? 980 : 380}" y="${y}" width="${user ? 860 : 1100}" height="200" rx="18" fill="${user ? '#dbeafe' : '#ffffff'}" stroke="#e5e5e5"/>`,
    );
    for (let l = 0; l < 6; l++)
      line((user ? 1005 : 405) + 0, y + 24 + l * 28, user ? 800 : m === 1 ? 640 : 1040, '#343541');
  }
  const photo = await sharp('test/fixtures/coffee.png').resize(380, 190).toBuffer();
  return sharp(
    Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="1920" height="1080">${parts.join('')}</svg>`),
  )
    .composite([{ input: photo, left: 1100, top: 315 }])
    .removeAlpha()
    .png({ compressionLevel: 6 })
    .toBuffer();
}

async function photo(): Promise<Buffer> {
  const width = 4032;
  const height = 3024;
  const { data } = await sharp(await readFile('test/fixtures/coffee.png'))
    .resize(width, height, { fit: 'cover', kernel: 'lanczos3' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const random = prng(92);
  // Luma grain, σ 7: the same offset on R, G and B of a pixel (Box-Muller, two samples per draw).
  for (let i = 0; i < data.length; i += 6) {
    const r = Math.sqrt(-2 * Math.log(1 - random()));
    const t = 2 * Math.PI * random();
    const a = 7 * r * Math.cos(t);
    const b = 7 * r * Math.sin(t);
    for (let c = 0; c < 3; c++) {
      data[i + c] = Math.max(0, Math.min(255, data[i + c]! + a));
      if (i + 3 + c < data.length) data[i + 3 + c] = Math.max(0, Math.min(255, data[i + 3 + c]! + b));
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 92 })
    .toBuffer();
}

const made = new Map<ImageClass, Promise<Buffer>>();

/** The fixture of a class (made once per process). */
export function imageOfClass(kind: ImageClass): Promise<Buffer> {
  let p = made.get(kind);
  if (!p) {
    p = kind === 'render' ? render() : kind === 'screenshot' ? screenshot() : photo();
    made.set(kind, p);
  }
  return p;
}
