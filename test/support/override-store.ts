import type { MetadataStore } from '../../src/metadata/metadata-store.js';

type Overrides = { [K in keyof MetadataStore]?: (original: MetadataStore[K]) => MetadataStore[K] };

/**
 * The real store with some methods replaced: each override gets the original method (bound to
 * the store) and returns the one callers see. Tests use it to inject failures or to run
 * something at an exact point of a flow; every other method is the store's own.
 */
export function overrideStore(inner: MetadataStore, overrides: Overrides): MetadataStore {
  const replaced = new Map<PropertyKey, unknown>();
  for (const [name, make] of Object.entries(overrides) as [keyof MetadataStore, (o: unknown) => unknown][]) {
    replaced.set(name, make((inner[name] as (...a: unknown[]) => unknown).bind(inner)));
  }
  return new Proxy(inner, {
    get: (target, prop, receiver) =>
      replaced.has(prop) ? replaced.get(prop) : (Reflect.get(target, prop, receiver) as unknown),
  });
}

/** Overrides that make the named methods fail as a broken database would. */
export function failWith(methods: (keyof MetadataStore)[], message: string): Overrides {
  return Object.fromEntries(methods.map((m) => [m, () => () => Promise.reject(new Error(message))])) as Overrides;
}
