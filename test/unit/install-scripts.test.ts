import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * `npm install && npm start` on a fresh machine needs better-sqlite3's install script (it
 * compiles or fetches the native binding) and the others that the lockfile marks. npm 11 only
 * warns about install scripts that package.json's `allowScripts` does not list; npm 12 skips
 * them, which would leave the store without its binding. Every dependency with an install script
 * must be listed, so adding one without reviewing it fails here.
 */
describe('allowScripts in package.json', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { allowScripts?: Record<string, boolean> };
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
    packages: Record<string, { hasInstallScript?: boolean }>;
  };
  const withScripts = Object.entries(lock.packages)
    .filter(([path, p]) => path !== '' && p.hasInstallScript)
    .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));

  it('lists exactly the dependencies whose install script the lockfile records, each as allowed', () => {
    expect(withScripts).toContain('better-sqlite3');
    expect(pkg.allowScripts).toEqual(Object.fromEntries(withScripts.map((name) => [name, true])));
  });
});
