// Crash injection for tests: WARREN_CRASH_AT=<point> makes the process SIGKILL itself there,
// so the crash-safety tests kill at exact steps instead of hoping to hit them with timing.
import type { CrashPoint } from './deps.ts';

export function crashPointFromEnv(env: NodeJS.ProcessEnv = process.env): (point: CrashPoint) => void {
  const target = env.WARREN_CRASH_AT;
  if (!target) return () => {};
  return (point) => {
    if (point === target) process.kill(process.pid, 'SIGKILL');
  };
}
