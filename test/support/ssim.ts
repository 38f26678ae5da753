/**
 * SSIM of luma over 8×8 windows, at viewing size: both images are scaled to the original's size
 * capped at 2048 px on its long edge (what a chat shows at most), turned to luma, and compared
 * window by window (non-overlapping 8×8 windows, the usual constants for 8-bit samples). 1 is
 * identical; the seed chatbot's 500 KB JPEGs of a grainy 12 MP photo score about 0.98.
 */
import sharp from 'sharp';

export const VIEWING_MAX = 2048;

async function luma(input: Buffer, width: number, height: number): Promise<Buffer> {
  return sharp(input).rotate().resize(width, height, { fit: 'fill', kernel: 'lanczos3' }).greyscale().raw().toBuffer();
}

export async function ssimAtViewingSize(original: Buffer, candidate: Buffer): Promise<number> {
  const meta = await sharp(original)
    .rotate()
    .toBuffer({ resolveWithObject: true })
    .then((r) => r.info);
  const scale = Math.min(1, VIEWING_MAX / Math.max(meta.width, meta.height));
  const width = Math.max(8, Math.round(meta.width * scale));
  const height = Math.max(8, Math.round(meta.height * scale));
  const [a, b] = await Promise.all([luma(original, width, height), luma(candidate, width, height)]);
  const C1 = (0.01 * 255) ** 2;
  const C2 = (0.03 * 255) ** 2;
  let sum = 0;
  let windows = 0;
  for (let y = 0; y + 8 <= height; y += 8) {
    for (let x = 0; x + 8 <= width; x += 8) {
      let sa = 0;
      let sb = 0;
      let saa = 0;
      let sbb = 0;
      let sab = 0;
      for (let j = 0; j < 8; j++) {
        const row = (y + j) * width + x;
        for (let i = 0; i < 8; i++) {
          const p = a[row + i]!;
          const q = b[row + i]!;
          sa += p;
          sb += q;
          saa += p * p;
          sbb += q * q;
          sab += p * q;
        }
      }
      const ma = sa / 64;
      const mb = sb / 64;
      const va = saa / 64 - ma * ma;
      const vb = sbb / 64 - mb * mb;
      const cov = sab / 64 - ma * mb;
      sum += ((2 * ma * mb + C1) * (2 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
      windows++;
    }
  }
  return sum / windows;
}
