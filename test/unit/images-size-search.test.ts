import { describe, expect, it } from 'vitest';
import {
  AIM,
  finish,
  fit,
  plan,
  PRIOR_SLOPE,
  Q_MAX,
  Q_MIN,
  Q_SCALED,
  SEARCH_ENCODES,
  type Encode,
  type Encoded,
} from '../../src/images/process.js';

type Format = Encoded['format'];
type Call = { format: Format; quality: number; scale: number; finished: boolean };

function enc(quality: number, scale: number, bytes: number, format: Format = 'webp', finished = false): Encoded {
  return { data: Buffer.alloc(bytes), format, quality, scale, finished, width: 100, height: 100 };
}

/** A fake encoder whose output size is `size(quality, scale, finished, callIndex)`; it records every call. */
function fakeEncoder(size: (quality: number, scale: number, finished: boolean, n: number) => number) {
  const calls: Call[] = [];
  const results: Encoded[] = [];
  const encode: Encode = async (format, quality, scale, finished = false) => {
    calls.push({ format, quality, scale, finished });
    const result = enc(quality, scale, Math.round(size(quality, scale, finished, calls.length - 1)), format, finished);
    results.push(result);
    return result;
  };
  return { encode, calls, results };
}

/** The size model the search assumes: bytes = base × scale^(2·0.9) × e^(k·(quality − 85)). */
const modelled = (base: number, k: number, quality: number, scale: number) =>
  base * scale ** 1.8 * Math.exp(k * (quality - Q_MAX));

describe('plan', () => {
  it('uses the prior slope from a single attempt: 1000 B at q85, goal 500 → q55', () => {
    // floor(85 + ln(0.5) / PRIOR_SLOPE) = floor(85 - 29.71) = 55
    expect(plan([enc(85, 1, 1000)], 500, false)).toEqual({ quality: 55, scale: 1 });
  });

  it('measures the slope from two attempts at the same scale', () => {
    // slope = ln(800/1000) / (70-85) = 0.014876; floor(70 + ln(600/800) / 0.014876) = floor(50.66) = 50
    // (the prior slope would give floor(70 - 12.33) = 57)
    expect(plan([enc(85, 1, 1000), enc(70, 1, 800)], 600, false)).toEqual({ quality: 50, scale: 1 });
  });

  it('ignores attempts at other scales when measuring the slope', () => {
    // Only the q75 attempt is at scale 0.5: prior slope, floor(75 + ln(500/700) / PRIOR_SLOPE) = floor(60.58) = 60.
    // Mixing in the q85 attempt at scale 1 would measure 0.0357 and give 65.
    expect(plan([enc(85, 1, 1000), enc(75, 0.5, 700)], 500, false)).toEqual({ quality: 60, scale: 0.5 });
  });

  it('extrapolates from the lowest quality tried when it is in the middle of the list', () => {
    // lowest q60 (600 B), other q85: slope = ln(0.6)/-25 = 0.020433; floor(60 + ln(450/600)/0.020433) = floor(45.92)
    // Starting from the last attempt (q70, 900 B) would measure 0.00702 and fall below Q_MIN.
    expect(plan([enc(85, 1, 1000), enc(60, 1, 600), enc(70, 1, 900)], 450, false)).toEqual({ quality: 45, scale: 1 });
  });

  it('extrapolates from the lowest quality tried when it is last in the list', () => {
    // lowest q60 (600 B), other q85: as above → 45. Starting from the first (q85) with the next (q70, 900 B)
    // would measure ln(1000/900)/15 = 0.00702 and fall below Q_MIN.
    expect(plan([enc(85, 1, 1000), enc(70, 1, 900), enc(60, 1, 600)], 450, false)).toEqual({ quality: 45, scale: 1 });
  });

  it('clamps a flat or inverted slope to 0.002, which sends the image to downscaling', () => {
    // Lower quality came out larger (noise): measured slope is negative, clamped to 0.002 → far below Q_MIN.
    const next = plan([enc(85, 1, 1000), enc(70, 1, 1010)], 900, false);
    expect(next.quality).toBe(Q_SCALED);
    expect(next.scale).toBeLessThan(1);
    // A tiny positive slope is clamped too: bytesAt(75) = 1000·e^(0.002·(75-70))·…, so the scale is well under 1.
    const flat = plan([enc(85, 1, 1000), enc(70, 1, 999)], 500, false);
    expect(flat.quality).toBe(Q_SCALED);
    // with slope 0.002: bytesAt(75) = 999·e^0.01 = 1009.04; scale = (500/1009.04)^(1/1.8)
    expect(flat.scale).toBeCloseTo((500 / (999 * Math.exp(0.01))) ** (1 / 1.8), 6);
  });

  it('never repeats the lowest quality tried, even when the goal equals its size', () => {
    expect(plan([enc(60, 1, 1000)], 1000, false)).toEqual({ quality: 59, scale: 1 });
    expect(plan([enc(85, 1, 1000)], 1000, false)).toEqual({ quality: 84, scale: 1 });
  });

  it('accepts a solution of exactly Q_MIN without downscaling', () => {
    // floor(85 + ln(0.355) / PRIOR_SLOPE) = floor(85 - 44.39) = 40
    expect(plan([enc(85, 1, 1000)], 355, false)).toEqual({ quality: Q_MIN, scale: 1 });
  });

  it('below Q_MIN, scales so that the model predicts the goal at Q_SCALED (or Q_MIN on the last chance)', () => {
    const goal = 200;
    const next = plan([enc(85, 1, 1000)], goal, false);
    expect(next.quality).toBe(Q_SCALED);
    expect(modelled(1000, PRIOR_SLOPE, next.quality, next.scale)).toBeCloseTo(goal, 6);
    const last = plan([enc(85, 1, 1000)], goal, true);
    expect(last.quality).toBe(Q_MIN);
    expect(modelled(1000, PRIOR_SLOPE, last.quality, last.scale)).toBeCloseTo(goal, 6);
  });
});

describe('fit', () => {
  it('returns the first attempt at once when it is exactly the target', async () => {
    const { encode, calls, results } = fakeEncoder(() => 1000);
    expect(await fit('webp', 1000, encode, null)).toBe(results[0]);
    expect(calls).toEqual([{ format: 'webp', quality: Q_MAX, scale: 1, finished: false }]);
  });

  it('plans from a given first attempt instead of encoding it again', async () => {
    const k = 0.03;
    const { encode, calls, results } = fakeEncoder((q, s) => modelled(2000, k, q, s));
    const first = enc(Q_MAX, 1, 2000);
    const out = await fit('jpeg', 1000, encode, first);
    expect(calls[0]!.quality).toBeLessThan(Q_MAX);
    expect(out).toBe(results.at(-1));
    expect(out.data.length).toBeLessThanOrEqual(1000);
    expect(calls.length).toBeLessThan(SEARCH_ENCODES);
  });

  it('counts a given first attempt against the encode limit', async () => {
    const { encode, calls } = fakeEncoder(() => 5000);
    await fit('webp', 1000, encode, enc(Q_MAX, 1, 5000));
    expect(calls).toHaveLength(SEARCH_ENCODES - 1);
  });

  it('plans each step from the attempts so far, aiming at AIM × target and at 0.75 × target on the last', async () => {
    const sizes = [5000, 3000, 2000, 2500, 4000];
    const { encode, calls, results } = fakeEncoder((_q, _s, _f, n) => sizes[n] ?? 1500);
    const target = 1000;
    await fit('webp', target, encode, null);
    expect(calls).toHaveLength(SEARCH_ENCODES);
    expect(calls[0]).toMatchObject({ quality: Q_MAX, scale: 1 });
    for (let n = 1; n < SEARCH_ENCODES - 1; n++)
      expect({ quality: calls[n]!.quality, scale: calls[n]!.scale }).toEqual(
        plan(results.slice(0, n), target * AIM, false),
      );
    const last = calls[SEARCH_ENCODES - 1]!;
    expect(last.quality).toBe(Q_MIN);
    expect({ quality: last.quality, scale: last.scale }).toEqual(plan(results.slice(0, 4), target * 0.75, true));
  });

  it('keeps the smallest attempt when nothing fits within SEARCH_ENCODES encodes', async () => {
    const sizes = [5000, 3000, 2000, 2500, 4000, 1100];
    const { encode, calls, results } = fakeEncoder((_q, _s, _f, n) => sizes[n] ?? 1100);
    const out = await fit('webp', 1000, encode, null);
    expect(calls).toHaveLength(SEARCH_ENCODES);
    expect(out).toBe(results[2]);
  });

  it('keeps the smallest attempt when it is the first or the last', async () => {
    const firstSmallest = fakeEncoder((_q, _s, _f, n) => [1500, 3000, 2000, 2500, 4000][n]!);
    expect(await fit('webp', 1000, firstSmallest.encode, null)).toBe(firstSmallest.results[0]);
    const lastSmallest = fakeEncoder((_q, _s, _f, n) => [5000, 3000, 2000, 2500, 1200][n]!);
    expect(await fit('webp', 1000, lastSmallest.encode, null)).toBe(lastSmallest.results[4]);
  });

  it('with a steady size model, finds a fit under the target within the encode limit', async () => {
    const k = 0.02;
    const { encode, calls, results } = fakeEncoder((q, s) => modelled(3000, k, q, s));
    const out = await fit('webp', 1000, encode, null);
    expect(out).toBe(results.at(-1));
    expect(out.data.length).toBeLessThanOrEqual(1000);
    expect(calls.length).toBeLessThanOrEqual(3);
  });
});

describe('finish', () => {
  it('re-encodes an unfinished WebP once with the slow preset and keeps it when smaller', async () => {
    const { encode, calls, results } = fakeEncoder(() => 800);
    const out = await finish(enc(70, 0.5, 900), 1000, encode);
    expect(calls).toEqual([{ format: 'webp', quality: 70, scale: 0.5, finished: true }]);
    expect(out).toBe(results[0]);
  });

  it('leaves a finished WebP and an unfinished JPEG alone', async () => {
    const { encode, calls } = fakeEncoder(() => 10);
    const done = enc(70, 1, 900, 'webp', true);
    expect(await finish(done, 1000, encode)).toBe(done);
    const jpeg = enc(70, 1, 900, 'jpeg', false);
    expect(await finish(jpeg, 1000, encode)).toBe(jpeg);
    expect(calls).toHaveLength(0);
  });

  it('keeps the re-encode if it is no larger than the target, even when larger than the result', async () => {
    const under = fakeEncoder(() => 950);
    expect(await finish(enc(70, 1, 900), 1000, under.encode)).toBe(under.results[0]);
    const exact = fakeEncoder(() => 1000);
    expect(await finish(enc(70, 1, 900), 1000, exact.encode)).toBe(exact.results[0]);
  });

  it('keeps an over-target re-encode only if it is no larger than the over-target result', async () => {
    const smaller = fakeEncoder(() => 1100);
    expect(await finish(enc(40, 0.3, 1200), 1000, smaller.encode)).toBe(smaller.results[0]);
    const equal = fakeEncoder(() => 1200);
    expect(await finish(enc(40, 0.3, 1200), 1000, equal.encode)).toBe(equal.results[0]);
    const result = enc(40, 0.3, 1200);
    const larger = fakeEncoder(() => 1201);
    expect(await finish(result, 1000, larger.encode)).toBe(result);
  });
});
