/**
 * processImage's time budget (IMAGE_PROCESS_TIMEOUT_SECONDS), counted from when the image joined
 * the queue (budgetFrom). The case of an image that runs out of time while libvips works on it is
 * tested over HTTP (test/integration/heavy-uploads.test.ts); here, the budget's edges, fast.
 */
import { describe, expect, it } from 'vitest';
import { PayloadTooLargeError } from '../../src/domain/errors.js';
import { processImage, type ProcessOptions } from '../../src/images/process.js';
import { probeImage } from '../../src/images/validate.js';
import { animatedGif, fixture } from './images-crafted.js';

const OPTIONS: ProcessOptions = { maxInputPixels: 100_000_000, imageMaxKb: 500, thumbnailSize: 256 };

async function ingest(input: Buffer, o: Partial<ProcessOptions>) {
  const options = { ...OPTIONS, ...o };
  return processImage(input, await probeImage(input, options), options);
}

describe('processImage and its time budget', () => {
  it('refuses an image whose budget was spent while it waited in the queue, saying so', async () => {
    const coffee = await fixture('coffee.png');
    const err = await ingest(coffee, { timeoutMs: 5_000, budgetFrom: Date.now() - 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect((err as Error).message).toBe(
      'The image (600×400) could not be processed within the 5 s one image may take from when it is queued (IMAGE_PROCESS_TIMEOUT_SECONDS): send fewer pixels or fewer frames.',
    );
    expect(((err as Error).cause as Error).message).toBe('timeout: the processing budget is spent');

    const gif = await animatedGif(3, 40, 30);
    await expect(ingest(gif, { timeoutMs: 1_500, budgetFrom: Date.now() - 2_000 })).rejects.toThrow(
      'The image (40×30 × 3 frames) could not be processed within the 2 s one image may take',
    );
  });

  it('refuses one whose budget ends right as it starts', async () => {
    const coffee = await fixture('coffee.png');
    await expect(ingest(coffee, { timeoutMs: 1_000, budgetFrom: Date.now() - 1_000 })).rejects.toBeInstanceOf(
      PayloadTooLargeError,
    );
  });

  it('processes an image with time left, and any image when there is no timeout, however long it waited', async () => {
    const coffee = await fixture('coffee.png');
    await expect(ingest(coffee, { timeoutMs: 60_000, budgetFrom: Date.now() })).resolves.toMatchObject({
      width: 600,
      height: 400,
    });
    await expect(ingest(coffee, { timeoutMs: 60_000 })).resolves.toMatchObject({ width: 600 });
    await expect(ingest(coffee, { budgetFrom: 0 })).resolves.toMatchObject({ width: 600 });
  });
});
