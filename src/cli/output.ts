import cliProgress from 'cli-progress';

/** Progress on stderr: a bar on a terminal, a plain line every 10% (and at the end) otherwise, nothing with --json. */
export function progressReporter(
  label: string,
  o: { json: boolean; tty: boolean; write?: (s: string) => void },
): { update(done: number, total: number): void; stop(): void } {
  const write = o.write ?? ((s: string) => process.stderr.write(s));
  if (o.json) return { update: () => undefined, stop: () => undefined };
  if (o.tty) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {value}/{total} {percentage}% eta {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total) {
        if (!started) {
          bar.start(total, 0);
          started = true;
        }
        bar.setTotal(Math.max(total, done));
        bar.update(done);
      },
      stop: () => started && bar.stop(),
    };
  }
  let lastTenth = -1;
  return {
    update(done, total) {
      const tenth = total > 0 ? Math.floor((done * 10) / total) : 10;
      if (tenth === lastTenth && done !== total) return;
      lastTenth = tenth;
      write(`${label}: ${done}/${total}\n`);
    },
    stop: () => undefined,
  };
}

/** The result: JSON on stdout for scripts, or aligned `name: value` lines for people. */
export function printResult(
  result: Record<string, unknown>,
  json: boolean,
  write: (s: string) => void = (s) => process.stdout.write(s),
): void {
  if (json) {
    write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  for (const [name, value] of Object.entries(result)) {
    if (Array.isArray(value)) {
      write(`${name}: ${value.length}\n`);
      for (const item of value)
        write(
          `  - ${item !== null && typeof item === 'object' ? labelled(item as Record<string, unknown>) : String(item)}\n`,
        );
    } else if (value !== null && typeof value === 'object') {
      write(`${name}:\n`);
      for (const [k, v] of Object.entries(value))
        write(`  ${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}\n`);
    } else {
      write(`${name}: ${String(value)}\n`);
    }
  }
}

/** One object on one line, every value with its name: `service: LOCAL, count: 3, bytes: 1024`. */
function labelled(item: Record<string, unknown>): string {
  return Object.entries(item)
    .map(([k, v]) => `${k}: ${v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}
