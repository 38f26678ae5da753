import { spawn, type ChildProcess } from 'node:child_process';

/**
 * The server as an operator runs it: a separate process, configured by its environment alone
 * (PATH and HOME kept). Started through tsx so tests need no build step; `npm start` runs the
 * tsc output.
 */
export function startProcess(env: Record<string, string>): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** The live subscriptions a server holds, read from its /metrics (his_subscriptions). */
export async function liveSubscriptions(url: string): Promise<number> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  return Number(/^his_subscriptions (\d+)/m.exec(text)?.[1] ?? 0);
}
