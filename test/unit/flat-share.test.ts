/**
 * flatShare (src/images/process.ts) decides a still's JPEG quality, so its answer must not
 * depend on how it counts: it is checked against the plain Map count it replaced, on pixels with
 * few, some and very many distinct colours (black included, which is also the table's zero).
 */
import { describe, expect, it } from 'vitest';
import { flatShare } from '../../src/images/process.js';
import { prng } from '../support/prng.js';

function byMap(data: Buffer, channels: number): number {
  const counts = new Map<number, number>();
  let samples = 0;
  for (let i = 0; i + 2 < data.length; i += channels * 16) {
    const colour = (data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!;
    counts.set(colour, (counts.get(colour) ?? 0) + 1);
    samples++;
  }
  if (samples === 0) return 0;
  return (
    [...counts.values()]
      .sort((a, b) => b - a)
      .slice(0, 8)
      .reduce((a, b) => a + b, 0) / samples
  );
}

function pixels(count: number, channels: number, palette: number, seed: number): Buffer {
  const random = prng(seed);
  const colours = Array.from({ length: palette }, (_, i) => (i === 0 ? 0 : Math.floor(random() * 0x1000000)));
  const data = Buffer.alloc(count * channels);
  for (let p = 0; p < count; p++) {
    // Skewed: low palette entries are much more common, so the top 8 are a real choice.
    const colour = colours[Math.floor(random() ** 3 * palette)]!;
    data[p * channels] = colour >> 16;
    data[p * channels + 1] = (colour >> 8) & 0xff;
    data[p * channels + 2] = colour & 0xff;
    if (channels === 4) data[p * channels + 3] = 255;
  }
  return data;
}

describe('flatShare', () => {
  it.each([
    [3, 1],
    [3, 5],
    [3, 9],
    [4, 40],
    [3, 5000],
    [4, 200_000],
  ])('gives the Map count’s answer (%i channels, %i colours)', (channels, palette) => {
    for (const [count, seed] of [
      [1, 1],
      [17, 2],
      [4096, 3],
      [300_000, 4],
    ] as const) {
      const data = pixels(count, channels, palette, seed + palette);
      expect(flatShare({ data, channels })).toBeCloseTo(byMap(data, channels), 12);
    }
  });

  it('is 1 for one colour, 0 for no pixels, and counts black like any colour', () => {
    expect(flatShare({ data: Buffer.alloc(3 * 1000), channels: 3 })).toBe(1);
    expect(flatShare({ data: Buffer.alloc(0), channels: 3 })).toBe(0);
    const half = Buffer.alloc(3 * 16 * 20);
    for (let p = 0; p < 20; p += 2) half.fill(0x7f, p * 48, p * 48 + 3);
    // 10 black samples and 10 grey ones: two colours, all of the samples.
    expect(flatShare({ data: half, channels: 3 })).toBe(1);
  });

  it('samples only whole pixels: a buffer ending two bytes into a sample adds no colour', () => {
    // 98 bytes of one grey: samples at bytes 0 and 48; the two bytes at 96 are not a pixel.
    expect(flatShare({ data: Buffer.alloc(98, 0x10), channels: 3 })).toBe(1);
  });
});
