import { expect } from 'vitest';
import { ProviderError } from '../../src/cloud/provider.js';

/** The ProviderError a provider call fails with (the test fails when it succeeds or throws anything else). */
export async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}
