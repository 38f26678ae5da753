import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed operations: every document in test/operations becomes a TypedDocumentNode for the tests;
 * web/operations.graphql becomes typed document strings for the demo page (strings, so the
 * browser bundle needs no graphql-js). `npm run codegen:check` fails when either file is stale.
 */
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  generates: {
    'test/generated/graphql.ts': {
      documents: ['test/operations/*.graphql'],
      plugins: ['typescript', 'typescript-operations', 'typed-document-node'],
      config: {
        scalars: { DateTime: 'string', Upload: 'unknown' },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
    'web/generated/graphql.ts': {
      documents: ['web/operations.graphql'],
      plugins: ['typescript', 'typescript-operations', 'typed-document-node'],
      config: {
        scalars: { DateTime: 'string', Upload: 'unknown' },
        enumsAsTypes: true,
        useTypeImports: true,
        documentMode: 'string',
      },
    },
  },
};

export default config;
