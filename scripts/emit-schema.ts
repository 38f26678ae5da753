/**
 * Writes the SDL built from the type-graphql classes to schema/schema.graphql.
 * With --check, writes nothing and exits 1 when the checked-in file differs.
 */
import 'reflect-metadata';
import { readFile, writeFile } from 'node:fs/promises';
import { printSchemaFile, SCHEMA_PATH } from '../src/graphql/print-schema.js';

const check = process.argv.includes('--check');
const sdl = await printSchemaFile();
if (check) {
  const current = await readFile(SCHEMA_PATH, 'utf8').catch(() => '');
  if (current !== sdl) {
    process.stderr.write(`${SCHEMA_PATH} is stale: run npm run schema and commit the result.\n`);
    process.exit(1);
  }
  process.stdout.write(`${SCHEMA_PATH} is up to date.\n`);
} else {
  await writeFile(SCHEMA_PATH, sdl);
  process.stdout.write(`wrote ${SCHEMA_PATH}\n`);
}
