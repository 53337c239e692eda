// Pure: the bench's settings from its environment variables, with an error naming what to fix.

export const allRuns = ['floor', 'warren', 'sidecar', 'sidecar-tuned'] as const;
export type RunName = (typeof allRuns)[number];

export interface BenchConfig {
  claims: number;
  workers: number;
  concurrency: number;
  /** Steady load: claims created at this many per second instead of all at once. */
  rate?: number;
  runs: RunName[];
  /** Where `warren controller` writes its --cpu-prof and --heap-prof files, when set. */
  profileDir?: string;
  /** Also measure the node plugin at rest (start to first Probe, idle RSS) and a bare Node. */
  atRest: boolean;
  /** Run Warren from the bundle (dist/cli.js, as the image does) rather than from src/. */
  bundle: boolean;
  /**
   * Backlog: each provisioner starts only once all its claims exist, and its clock starts when it
   * is ready, so "all PVs" is its own pace of creation rather than the bench's.
   */
  backlog: boolean;
}

function count(env: Record<string, string | undefined>, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[1-9]\d*$/.test(raw)) throw new Error(`${key}=${raw}: expected a whole number of at least 1`);
  return Number(raw);
}

export function readBenchConfig(env: Record<string, string | undefined>): BenchConfig {
  const runs = (env.WARREN_BENCH_RUNS ?? allRuns.join(','))
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const unknown = runs.filter((r) => !(allRuns as readonly string[]).includes(r));
  if (unknown.length > 0 || runs.length === 0)
    throw new Error(
      `WARREN_BENCH_RUNS=${env.WARREN_BENCH_RUNS}: expected a comma-separated list of ${allRuns.join(', ')}`,
    );
  const backlog = env.WARREN_BENCH_BACKLOG ?? 'false';
  if (!['true', 'false'].includes(backlog))
    throw new Error(`WARREN_BENCH_BACKLOG=${backlog}: expected true or false`);
  // The ratios are to the first row: a floor that runs must come first (without one, no ratios).
  if (runs.includes('floor') && runs[0] !== 'floor')
    throw new Error(
      `WARREN_BENCH_RUNS=${env.WARREN_BENCH_RUNS}: floor must come first (the ratios are to it)`,
    );
  const profileDir = env.WARREN_BENCH_PROFILE_DIR || undefined;
  if (profileDir !== undefined && !profileDir.startsWith('/'))
    throw new Error(`WARREN_BENCH_PROFILE_DIR=${profileDir}: expected an absolute directory`);
  const atRest = env.WARREN_BENCH_AT_REST ?? 'true';
  if (!['true', 'false'].includes(atRest))
    throw new Error(`WARREN_BENCH_AT_REST=${atRest}: expected true or false`);
  const bundle = env.WARREN_BENCH_BUNDLE ?? 'true';
  if (!['true', 'false'].includes(bundle))
    throw new Error(`WARREN_BENCH_BUNDLE=${bundle}: expected true or false`);
  return {
    claims: count(env, 'WARREN_BENCH_CLAIMS', 100),
    workers: count(env, 'WARREN_BENCH_WORKERS', 16),
    concurrency: count(env, 'WARREN_BENCH_CONCURRENCY', 20),
    ...(env.WARREN_BENCH_RATE ? { rate: count(env, 'WARREN_BENCH_RATE', 1) } : {}),
    runs: runs as RunName[],
    ...(profileDir ? { profileDir } : {}),
    atRest: atRest === 'true',
    bundle: bundle === 'true',
    backlog: backlog === 'true',
  };
}
