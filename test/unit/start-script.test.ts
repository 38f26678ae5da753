import { execFile, spawn } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';

const run = promisify(execFile);
const SCRIPT = resolve('scripts/start.sh');

/**
 * `npm start` runs scripts/start.sh. NODE points it at a stand-in that prints what node would
 * have been given, so the script's own logic is checked without a build.
 */
describe('scripts/start.sh (npm start)', () => {
  let dir: string;
  let fakeNode: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'his-start-'));
    fakeNode = join(dir, 'node');
    await writeFile(
      fakeNode,
      '#!/bin/sh\nprintf "args=%s\\n" "$*"\nprintf "arenas=%s\\n" "$MALLOC_ARENA_MAX"\nprintf "mmap=%s\\n" "$MALLOC_MMAP_THRESHOLD_"\nprintf "trim=%s\\n" "$MALLOC_TRIM_THRESHOLD_"\n',
    );
    await chmod(fakeNode, 0o755);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const start = async (env: Record<string, string>, args: string[] = []) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(MALLOC_|V8_INITIAL)/.test(k)));
    const { stdout } = await run('sh', [SCRIPT, ...args], { env: { ...clean, NODE: fakeNode, ...env } });
    return Object.fromEntries(
      stdout
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  };

  it('starts the built server with the allocator and V8 heap settings, passing arguments through', async () => {
    const out = await start({}, ['--flag']);
    expect(out['args']).toMatch(/^--initial-old-space-size=96 .+\/dist\/src\/main\.js --flag$/);
    expect(out['arenas']).toBe('2');
    expect(out['mmap']).toBe('4194304');
    expect(out['trim']).toBe('8388608');
  });

  it('lets values already in the environment win', async () => {
    const out = await start({
      MALLOC_ARENA_MAX: '8',
      MALLOC_MMAP_THRESHOLD_: '4096',
      MALLOC_TRIM_THRESHOLD_: '131072',
      V8_INITIAL_OLD_SPACE_MB: '32',
    });
    expect(out['args']).toMatch(/^--initial-old-space-size=32 /);
    expect(out['arenas']).toBe('8');
    expect(out['mmap']).toBe('4096');
    expect(out['trim']).toBe('131072');
  });

  it('refuses a V8_INITIAL_OLD_SPACE_MB that is not a whole number, naming the variable, with exit code 78', async () => {
    const failure = await start({ V8_INITIAL_OLD_SPACE_MB: '96MB' }).then(
      () => null,
      (e: unknown) => e as { code: number; stderr: string; stdout: string },
    );
    expect(failure?.code).toBe(78);
    expect(failure?.stderr).toContain('V8_INITIAL_OLD_SPACE_MB="96MB": expected a whole number of megabytes');
    // node was never started.
    expect(failure?.stdout).toBe('');
  });

  it('gives the benchmark floor the same V8 heap setting as the server (bench/upload.ts compares them)', async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { scripts: Record<string, string> };
    const server = /V8_INITIAL_OLD_SPACE_MB:=(\d+)/.exec(await readFile(SCRIPT, 'utf8'))?.[1];
    expect(server).toBeDefined();
    expect(pkg.scripts['bench']).toContain(`--initial-old-space-size=${server}`);
  });

  it('as npm start, passes a SIGTERM sent to npm on to the server: a supervisor stopping npm stops the server', async () => {
    // What docker stop, systemd or a process manager does. npm forwards the signal to its own
    // child only; with the server a grandchild (npm, then sh -c, then node) it was left running.
    // A copy of the package's start script and start.sh, with a main.js that waits for a signal.
    const pkgDir = join(dir, 'package');
    await mkdir(join(pkgDir, 'scripts'), { recursive: true });
    await mkdir(join(pkgDir, 'dist', 'src'), { recursive: true });
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { scripts: Record<string, string> };
    await writeFile(
      join(pkgDir, 'package.json'),
      JSON.stringify({ name: 'start-copy', scripts: { start: pkg.scripts['start'] } }),
    );
    await copyFile(SCRIPT, join(pkgDir, 'scripts', 'start.sh'));
    const [ready, got] = [join(dir, 'ready'), join(dir, 'got')];
    await writeFile(
      join(pkgDir, 'dist', 'src', 'main.js'),
      `const fs = require('node:fs');
process.on('SIGTERM', () => { fs.writeFileSync(${JSON.stringify(got)}, 'TERM'); process.exit(0); });
fs.writeFileSync(${JSON.stringify(ready)}, String(process.pid));
setInterval(() => {}, 1000);
`,
    );
    const npm = spawn('npm', ['start', '--silent'], { cwd: pkgDir, stdio: 'ignore' });
    const exited = new Promise<void>((r) => npm.on('exit', () => r()));
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    let server = 0;
    try {
      server = Number(await eventually(() => readFile(ready, 'utf8').catch(() => ''), Boolean, 20_000));
      expect(server, 'the stand-in server never started').toBeGreaterThan(0);
      npm.kill('SIGTERM');
      await exited;
      // The server got the signal and is gone; nothing is left running.
      expect(
        await eventually(
          () => readFile(got, 'utf8').catch(() => 'no signal reached the server'),
          (t) => t === 'TERM',
          5_000,
        ),
      ).toBe('TERM');
      expect(
        await eventually(
          () => alive(server),
          (a) => !a,
          5_000,
        ),
      ).toBe(false);
    } finally {
      // Whatever failed above, neither process outlives the test.
      if (npm.exitCode === null && npm.signalCode === null) npm.kill('SIGKILL');
      if (server > 0 && alive(server)) process.kill(server, 'SIGKILL');
    }
  });
});
