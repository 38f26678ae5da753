import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';

/**
 * `npx hybrid-image-store` in a clone runs package.json's bin file itself, which tsc writes
 * without the executable bit; `npm run build` sets it (scripts/bin-executable.mjs). .ci/run runs
 * `npx --no-install hybrid-image-store --version` on the built clone as well.
 */
const run = promisify(execFile);

describe('the bin of a built clone', () => {
  it('is made executable, and then runs by itself', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'his-bin-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    await mkdir(join(dir, 'out'));
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'x', bin: { tool: 'out/cli.js' } }));
    const bin = join(dir, 'out', 'cli.js');
    await writeFile(bin, "#!/usr/bin/env node\nconsole.log('ran');\n");
    await chmod(bin, 0o644);
    // As tsc leaves it: running the file itself is refused.
    await expect(run(bin)).rejects.toMatchObject({ code: 'EACCES' });

    await run(process.execPath, ['scripts/bin-executable.mjs', dir]);
    expect((await stat(bin)).mode & 0o777).toBe(0o755);
    expect((await run(bin)).stdout).toBe('ran\n');
  });

  it("is this project's CLI, which starts with a node shebang, and the build makes it executable", async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as {
      bin: Record<string, string>;
      scripts: Record<string, string>;
    };
    expect(pkg.bin['hybrid-image-store']).toBe('dist/src/cli/index.js');
    expect((await readFile('src/cli/index.ts', 'utf8')).split('\n')[0]).toBe('#!/usr/bin/env node');
    // After tsc has written the file, not before.
    expect(pkg.scripts['build']).toMatch(/tsc -p tsconfig\.build\.json && .*node scripts\/bin-executable\.mjs/);
  });
});
