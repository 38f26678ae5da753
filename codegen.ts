import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed operations for the tests (and, later, the demo page): every document in
 * test/operations becomes a TypedDocumentNode with its result and variables types.
 * `npm run codegen:check` fails when the generated file is stale.
 */
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: ['test/operations/*.graphql'],
  generates: {
    'test/generated/graphql.ts': {
      plugins: ['typescript', 'typescript-operations', 'typed-document-node'],
      config: {
        scalars: { DateTime: 'string', Upload: 'unknown' },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
