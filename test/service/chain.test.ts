import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { ProviderChain, type ChainOptions } from '../../src/cloud/chain.js';
import { ProviderError, type CloudCopy } from '../../src/cloud/provider.js';
import { FakeProvider, uploadFile } from '../support/service.js';

// cockatiel waits with setTimeout (retry backoff, per-attempt timeout) and its breaker compares
// Date.now() with the moment it opened: both are faked, so no test waits for real time.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
});

afterEach(() => {
  vi.useRealTimers();
});

const OPTIONS: ChainOptions = {
  timeoutMs: 1_000,
  maxAttempts: 3,
  backoffMs: 100,
  breakAfter: 2,
  halfOpenAfterMs: 30_000,
  random: () => 0.5,
};

const serverError = () => new ProviderError('HTTP 500', true, { status: 500 });
const refused = () => new ProviderError('HTTP 400: bad request', false, { status: 400 });

function newChain(options: Partial<ChainOptions> = {}) {
  const postimages = new FakeProvider('POSTIMAGES');
  const imgbb = new FakeProvider('IMGBB');
  const chain = new ProviderChain([postimages, imgbb], [], { ...OPTIONS, ...options });
  return { chain, postimages, imgbb };
}

/** Runs one upload to its end, advancing fake time through every backoff and timeout. */
async function upload(chain: ProviderChain) {
  const done = chain.upload(uploadFile());
  await vi.runAllTimersAsync();
  return done;
}

async function circuitOf(chain: ProviderChain, name: string) {
  return (await chain.health()).find((h) => h.name === name)?.circuit;
}

describe('ProviderChain: order and fall-through', () => {
  it('uploads to the first provider when it answers, and never asks the next', async () => {
    const { chain, postimages, imgbb } = newChain();
    const copy: CloudCopy = {
      url: 'https://postimages.test/a.png',
      deleteUrl: 'https://postimages.test/d',
      providerId: 'a',
    };
    postimages.willAnswer(copy);

    await expect(upload(chain)).resolves.toEqual({
      ok: true,
      provider: 'POSTIMAGES',
      copy,
      thumbnail: null,
      failures: [],
    });
    expect(postimages.calls).toHaveLength(1);
    expect(imgbb.calls).toHaveLength(0);
  });

  it('falls through to the next provider when the first fails, and reports why the first failed', async () => {
    const { chain, postimages, imgbb } = newChain({ maxAttempts: 1 });
    postimages.willAnswer(refused());

    const result = await upload(chain);

    expect(result).toMatchObject({
      ok: true,
      provider: 'IMGBB',
      failures: [{ provider: 'POSTIMAGES', reason: 'HTTP 400: bad request' }],
    });
    expect(imgbb.calls).toHaveLength(1);
  });

  it('fails with every reason when every provider fails', async () => {
    const { chain, postimages, imgbb } = newChain({ maxAttempts: 1 });
    postimages.willAnswer(refused());
    imgbb.willAnswer(new ProviderError('HTTP 403', false));

    await expect(upload(chain)).resolves.toEqual({
      ok: false,
      failures: [
        { provider: 'POSTIMAGES', reason: 'HTTP 400: bad request' },
        { provider: 'IMGBB', reason: 'HTTP 403' },
      ],
    });
  });

  it('`avoid` puts the named provider last', async () => {
    const { chain, postimages, imgbb } = newChain();

    const result = await chain.upload(uploadFile(), { avoid: 'POSTIMAGES' });

    expect(result).toMatchObject({ ok: true, provider: 'IMGBB' });
    expect(postimages.calls).toHaveLength(0);
    expect(imgbb.calls).toHaveLength(1);
  });
});

describe('ProviderChain: retries', () => {
  it('retries a retryable failure up to maxAttempts, then falls through', async () => {
    const { chain, postimages, imgbb } = newChain({ maxAttempts: 3 });
    postimages.willFail(3, serverError);

    const result = await upload(chain);

    expect(postimages.calls).toHaveLength(3);
    expect(imgbb.calls).toHaveLength(1);
    expect(result).toMatchObject({
      ok: true,
      provider: 'IMGBB',
      failures: [{ provider: 'POSTIMAGES', reason: 'HTTP 500' }],
    });
  });

  it('a retry that succeeds keeps the upload on that provider', async () => {
    const { chain, postimages, imgbb } = newChain({ maxAttempts: 3 });
    postimages.willFail(2, serverError);

    await expect(upload(chain)).resolves.toMatchObject({ ok: true, provider: 'POSTIMAGES', failures: [] });
    expect(postimages.calls).toHaveLength(3);
    expect(imgbb.calls).toHaveLength(0);
  });

  it('waits the jittered exponential backoff between attempts (random 0.5: 75 ms, then 150 ms)', async () => {
    const { chain, postimages } = newChain({ maxAttempts: 3, backoffMs: 100 });
    postimages.willFail(2, serverError);

    const done = chain.upload(uploadFile());
    await vi.advanceTimersByTimeAsync(0);
    expect(postimages.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(74);
    expect(postimages.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(postimages.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(149);
    expect(postimages.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(postimages.calls).toHaveLength(3);
    await expect(done).resolves.toMatchObject({ ok: true, provider: 'POSTIMAGES' });
  });

  it("honours a 429's Retry-After instead of the backoff", async () => {
    const { chain, postimages } = newChain({ maxAttempts: 2 });
    postimages.willAnswer(new ProviderError('HTTP 429', true, { status: 429, retryAfterMs: 700 }));

    const done = chain.upload(uploadFile());
    await vi.advanceTimersByTimeAsync(699);
    expect(postimages.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(postimages.calls).toHaveLength(2);
    await expect(done).resolves.toMatchObject({ ok: true, provider: 'POSTIMAGES' });
  });

  it('an attempt that outlasts timeoutMs is abandoned as "timed out" and retried', async () => {
    const { chain, postimages, imgbb } = newChain({ maxAttempts: 2, timeoutMs: 1_000 });
    const signals: AbortSignal[] = [];
    const hang = (_file: unknown, signal: AbortSignal) => {
      signals.push(signal);
      return new Promise<CloudCopy>(() => {});
    };
    postimages.willAnswer(hang, hang);

    const done = chain.upload(uploadFile());
    await vi.advanceTimersByTimeAsync(999);
    expect(postimages.calls).toHaveLength(1);
    expect(signals[0]!.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(signals[0]!.aborted).toBe(true);
    await vi.runAllTimersAsync();

    await expect(done).resolves.toMatchObject({
      ok: true,
      provider: 'IMGBB',
      failures: [{ provider: 'POSTIMAGES', reason: 'timed out' }],
    });
    expect(postimages.calls).toHaveLength(2);
    expect(imgbb.calls).toHaveLength(1);
  });

  it('a non-retryable (misconfigured) failure is not retried, and onMisconfigured is told', async () => {
    const onMisconfigured = vi.fn();
    const s3 = new FakeProvider('S3');
    const imgbb = new FakeProvider('IMGBB');
    const chain = new ProviderChain([s3, imgbb], [], { ...OPTIONS, maxAttempts: 3, onMisconfigured });
    s3.willAnswer(new ProviderError('NoSuchBucket: the bucket does not exist', false, { misconfigured: true }));

    const result = await upload(chain);

    expect(s3.calls).toHaveLength(1);
    expect(result).toMatchObject({ ok: true, provider: 'IMGBB' });
    expect(onMisconfigured).toHaveBeenCalledTimes(1);
    expect(onMisconfigured).toHaveBeenCalledWith('S3', 'NoSuchBucket: the bucket does not exist');
    expect((await chain.health())[0]).toMatchObject({
      name: 'S3',
      circuit: 'CLOSED',
      misconfigured: true,
      lastError: 'NoSuchBucket: the bucket does not exist',
      failures: 1,
      uploads: 0,
    });

    // The next success clears the flag.
    await upload(chain);
    expect((await chain.health())[0]).toMatchObject({ misconfigured: false, uploads: 1 });
    expect(onMisconfigured).toHaveBeenCalledTimes(1);
  });

  it('a non-retryable failure that is not a misconfiguration does not call onMisconfigured', async () => {
    const onMisconfigured = vi.fn();
    const { chain, postimages } = newChain({ onMisconfigured });
    postimages.willAnswer(refused());

    await upload(chain);

    expect(onMisconfigured).not.toHaveBeenCalled();
    expect((await chain.health())[0]).toMatchObject({ misconfigured: false, lastError: 'HTTP 400: bad request' });
  });
});

describe('ProviderChain: circuit breaker', () => {
  it('opens after breakAfter consecutive failed uploads: health shows OPEN and the provider is skipped uncalled', async () => {
    const { chain, postimages, imgbb } = newChain({ maxAttempts: 1, breakAfter: 2 });
    postimages.willFail(2, serverError);

    await upload(chain);
    expect(await circuitOf(chain, 'POSTIMAGES')).toBe('CLOSED');
    await upload(chain);
    expect(await circuitOf(chain, 'POSTIMAGES')).toBe('OPEN');
    expect(await circuitOf(chain, 'IMGBB')).toBe('CLOSED');

    const skipped = await upload(chain);
    expect(postimages.calls).toHaveLength(2);
    expect(imgbb.calls).toHaveLength(3);
    expect(skipped).toMatchObject({
      ok: true,
      provider: 'IMGBB',
      failures: [
        { provider: 'POSTIMAGES', reason: 'circuit open: the provider failed repeatedly and is skipped for now' },
      ],
    });
  });

  it('counts a whole retried upload as one failure, not each attempt', async () => {
    const { chain, postimages } = newChain({ maxAttempts: 3, breakAfter: 2 });
    postimages.willFail(3, serverError);

    await upload(chain);

    expect(postimages.calls).toHaveLength(3);
    expect(await circuitOf(chain, 'POSTIMAGES')).toBe('CLOSED');
  });

  it('non-retryable failures never open it', async () => {
    const { chain, postimages } = newChain({ maxAttempts: 1, breakAfter: 2 });
    postimages.willFail(4, refused);

    for (let i = 0; i < 4; i++) await upload(chain);

    expect(postimages.calls).toHaveLength(4);
    expect(await circuitOf(chain, 'POSTIMAGES')).toBe('CLOSED');
  });

  it('a success in between resets the count of consecutive failures', async () => {
    const { chain, postimages } = newChain({ maxAttempts: 1, breakAfter: 2 });
    postimages.willAnswer(serverError(), { url: 'https://postimages.test/ok.png', deleteUrl: null, providerId: null });
    postimages.willFail(1, serverError);

    for (let i = 0; i < 3; i++) await upload(chain);

    expect(await circuitOf(chain, 'POSTIMAGES')).toBe('CLOSED');
  });

  it('after halfOpenAfterMs one trial is let through, and its success closes the circuit', async () => {
    const { chain, postimages, imgbb } = newChain({ maxAttempts: 1, breakAfter: 2, halfOpenAfterMs: 30_000 });
    postimages.willFail(2, serverError);
    await upload(chain);
    await upload(chain);
    expect(await circuitOf(chain, 'POSTIMAGES')).toBe('OPEN');

    await vi.advanceTimersByTimeAsync(29_999);
    await upload(chain);
    expect(postimages.calls).toHaveLength(2);

    await vi.advanceTimersByTimeAsync(1);
    const trial = await upload(chain);
    expect(postimages.calls).toHaveLength(3);
    expect(trial).toMatchObject({ ok: true, provider: 'POSTIMAGES', failures: [] });
    expect(await circuitOf(chain, 'POSTIMAGES')).toBe('CLOSED');

    await upload(chain);
    expect(postimages.calls).toHaveLength(4);
    expect(imgbb.calls).toHaveLength(3);
  });

  it('a failed trial opens it again for another halfOpenAfterMs', async () => {
    const { chain, postimages } = newChain({ maxAttempts: 1, breakAfter: 2, halfOpenAfterMs: 30_000 });
    postimages.willFail(3, serverError);
    await upload(chain);
    await upload(chain);

    await vi.advanceTimersByTimeAsync(30_000);
    await upload(chain);
    expect(postimages.calls).toHaveLength(3);
    expect(await circuitOf(chain, 'POSTIMAGES')).toBe('OPEN');

    await upload(chain);
    expect(postimages.calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(30_000);
    await upload(chain);
    expect(postimages.calls).toHaveLength(4);
    expect(await circuitOf(chain, 'POSTIMAGES')).toBe('CLOSED');
  });

  it('health() lists the disabled providers after the enabled ones, CLOSED and idle', async () => {
    const postimages = new FakeProvider('POSTIMAGES');
    const chain = new ProviderChain([postimages], ['IMGBB'], OPTIONS);
    await upload(chain);

    expect(await chain.health()).toEqual([
      {
        name: 'POSTIMAGES',
        enabled: true,
        circuit: 'CLOSED',
        uploads: 1,
        failures: 0,
        lastError: null,
        misconfigured: false,
        budget: null,
      },
      {
        name: 'IMGBB',
        enabled: false,
        circuit: 'CLOSED',
        uploads: 0,
        failures: 0,
        lastError: null,
        misconfigured: false,
        budget: null,
      },
    ]);
  });
});
