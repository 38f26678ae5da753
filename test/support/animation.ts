import sharp from 'sharp';

/**
 * An animated WebP of `frames` frames at 500×499 that costs full work to re-encode: a square
 * moving over a gradient. `busy` adds a pattern to the green channel, which makes the file
 * larger on the wire (about 11 MB at 400 frames instead of about 100 KB) and every encode slower.
 * Used by the heavy-upload test and `npm run bench -- hostile`.
 */
export async function heavyAnimation(o: { frames: number; busy?: boolean }): Promise<Buffer> {
  const [W, H, N] = [500, 499, o.frames];
  const raw = Buffer.alloc(W * H * 3 * N);
  for (let f = 0; f < N; f++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = ((f * H + y) * W + x) * 3;
        const inside = Math.abs(x - ((f * 3) % W)) < 40 && Math.abs(y - 250) < 40;
        raw[i] = inside ? 255 : (x * 255) / W;
        raw[i + 1] = inside ? 0 : o.busy ? (x * 7 + y * 13 + f * 31) % 97 : 80;
        raw[i + 2] = (y * 255) / H;
      }
    }
  }
  // pageHeight on the raw input makes it N frames, not one 500×(499·N) image (over WebP's 16383).
  return sharp(raw, { raw: { width: W, height: H * N, channels: 3, pageHeight: H } })
    .webp({ quality: o.busy ? 30 : 50, effort: 0, loop: 0 })
    .toBuffer();
}
