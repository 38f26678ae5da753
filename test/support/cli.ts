import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';

/**
 * The CLI as an operator runs it: its own process over the SQLite file and STORAGE_DIR its
 * environment names (started through tsx, so no build step), with nothing of the test's
 * environment but PATH and HOME.
 */
export const CLI_ARGV = [process.execPath, '--import', 'tsx', 'src/cli/index.ts'];

export function cliEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env };
}

export function spawnCli(args: string[], env: Record<string, string>, stdio: StdioOptions = 'ignore'): ChildProcess {
  return spawn(CLI_ARGV[0]!, [...CLI_ARGV.slice(1), ...args], { env: cliEnv(env), stdio });
}

/** Runs the CLI to its end; stdout and stderr as text. */
export function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawnCli(args, env, ['ignore', 'pipe', 'pipe']);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
