import { execFileSync } from 'node:child_process';

/** Vitest global setup: the demo page is served from its bundle, so build it once before the suite (about 0.1 s). */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build-web.mjs'], { stdio: 'inherit' });
}
