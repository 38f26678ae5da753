// Makes the files package.json's `bin` names executable. tsc writes them 0644, and npm sets the
// bit only when it installs a package, not in the clone it is run from: there
// `npx hybrid-image-store` runs the file itself and failed with "Permission denied".
// Part of `npm run build`. `node scripts/bin-executable.mjs [package root]` (default: this one).
import { chmod, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
const bins = typeof pkg.bin === 'string' ? [pkg.bin] : Object.values(pkg.bin ?? {});
for (const file of bins) {
  const path = join(root, file);
  // Read, write and execute for the owner; read and execute for everyone else (what npm gives a bin).
  await chmod(path, (await stat(path)).mode | 0o755);
}
