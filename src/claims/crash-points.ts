// Crash injection for tests: WARREN_CRASH_AT=<point> makes the process SIGKILL itself there,
// so the crash-safety tests kill at exact steps instead of hoping to hit them with timing.
// Before dying it writes one line to stderr, synchronously (buffered log lines are lost at SIGKILL),
// so a test's log says which object crashed where.
import { writeSync } from 'node:fs';
import type { CrashPoint } from './deps.ts';

export function crashPointFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  say: (line: string) => void = (line) => writeSync(2, line),
): (point: CrashPoint, object: string) => void {
  const target = env.WARREN_CRASH_AT;
  if (!target) return () => {};
  return (point, object) => {
    if (point !== target) return;
    say(`${JSON.stringify({ msg: 'crash point reached; SIGKILL', point, object, pid: process.pid })}\n`);
    process.kill(process.pid, 'SIGKILL');
  };
}
