import { printSchema } from 'graphql';
import { buildAppSchema } from './schema.js';

export const SCHEMA_PATH = 'schema/schema.graphql';

const HEADER = '# Emitted from the type-graphql classes in src/graphql by `npm run schema`. Do not edit by hand.\n\n';

export async function printSchemaFile(): Promise<string> {
  return `${HEADER}${printSchema(await buildAppSchema())}\n`;
}
