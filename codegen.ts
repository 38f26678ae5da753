import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed operations: every document in test/operations becomes a TypedDocumentNode for the tests;
 * web/operations.graphql becomes typed document strings for the demo page (strings, so the
 * browser bundle needs no graphql-js). `npm run codegen:check` fails when either file is stale.
 */
const shared = {
  plugins: ['typescript', 'typescript-operations', 'typed-document-node'],
  config: { scalars: { DateTime: 'string', Upload: 'unknown' }, enumsAsTypes: true, useTypeImports: true },
};

const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  generates: {
    'test/generated/graphql.ts': { ...shared, documents: ['test/operations/*.graphql'] },
    // Only what the page's operations use, as strings: the bundle carries no schema types or graphql-js.
    'web/generated/graphql.ts': {
      ...shared,
      documents: ['web/operations.graphql'],
      config: { ...shared.config, documentMode: 'string', onlyOperationTypes: true },
    },
  },
};

export default config;
