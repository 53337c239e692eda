// Pure: the bench's numbers per contender (from the sightings it recorded) and the table it prints.

export interface Sightings {
  /** When each claim was created (performance.now()), by claim name. */
  created: Map<string, number>;
  /** When each claim was first seen Bound. */
  bound: Map<string, number>;
  /** When each of the contender's PVs was first seen. */
  pvSeen: Map<string, number>;
  /** Each claim's uid, by claim name: its PV is `pvc-<uid>` (Warren and external-provisioner alike). */
  uids?: Map<string, string>;
}

export interface ContenderResult {
  name: string;
  claims: number;
  startMs: number;
  /** Until the last claim was created, until every PV existed, until every claim was Bound (ms after start). */
  createdMs: number;
  pvsMs: number;
  /** Until the first of the contender's PVs was seen (ms after start), when it made any. */
  firstPvMs?: number;
  boundMs: number;
  /** Deleting every claim until every PV was gone; undefined when not measured (the floor). */
  releaseMs?: number;
  /**
   * Deleting every claim until every claim was gone (pvc-protection let it go): before that no
   * provisioner may release a PV.
   */
  claimsGoneMs?: number;
  p50Ms: number;
  p99Ms: number;
  /** From a claim's creation until its PV was seen, p99 (a provisioner's own lag), when measured. */
  pvLagP99Ms?: number;
  /** Peak RSS (VmHWM) of each provisioner process, MB; idle/after readings where taken. */
  memory: Array<{
    process: string;
    peakMb: number;
    idleMb?: number;
    afterMb?: number;
    /** At the highest RSS sampled: its anonymous and file-backed parts. */
    peakAnonMb?: number;
    peakFileMb?: number;
  }>;
  /** Until all were Bound: the apiserver's 409 answers, and every write served, by "VERB resource". */
  conflicts: Record<string, number>;
  writes: Record<string, number>;
  /** From deleting the claims until every PV was gone (the floor: until all were Released). */
  releaseWrites?: Record<string, number>;
  /** [seconds after start, claims Bound]: the plot's curve. */
  curve: Array<[number, number]>;
}

/** The nearest-rank percentile (q in 0..1) of values; NaN for none. */
export function percentile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] as number;
}

/** Time to all PVs, to all Bound, per-claim latency and the Bound curve, from what was seen. */
export function summarize(
  s: Sightings,
  startMs: number,
): Pick<
  ContenderResult,
  'createdMs' | 'pvsMs' | 'firstPvMs' | 'boundMs' | 'p50Ms' | 'p99Ms' | 'curve' | 'pvLagP99Ms'
> {
  const lags: number[] = [];
  for (const [name, uid] of s.uids ?? []) {
    const created = s.created.get(name);
    const pv = s.pvSeen.get(`pvc-${uid}`);
    if (created !== undefined && pv !== undefined) lags.push(Math.max(0, pv - created));
  }
  const latencies: number[] = [];
  for (const [name, at] of s.bound) {
    const created = s.created.get(name);
    if (created !== undefined) latencies.push(Math.max(0, at - created));
  }
  const boundTimes = [...s.bound.values()].map((t) => t - startMs).sort((a, b) => a - b);
  const curve: Array<[number, number]> = [[0, 0]];
  boundTimes.forEach((t, i) => {
    curve.push([t / 1000, i + 1]);
  });
  return {
    createdMs: Math.max(0, ...[...s.created.values()].map((t) => t - startMs)),
    pvsMs: Math.max(0, ...[...s.pvSeen.values()].map((t) => t - startMs)),
    ...(s.pvSeen.size > 0 ? { firstPvMs: Math.min(...[...s.pvSeen.values()].map((t) => t - startMs)) } : {}),
    ...(lags.length > 0 ? { pvLagP99Ms: percentile(lags, 0.99) } : {}),
    boundMs: boundTimes.at(-1) ?? 0,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    curve,
  };
}

const seconds = (ms: number | undefined) => (ms === undefined ? '' : `${(ms / 1000).toFixed(1)} s`);
const mb = (v: number | undefined) => (v === undefined ? '' : `${Math.round(v)}`);

function memoryCell(m: ContenderResult['memory'][number]): string {
  const more = [
    m.idleMb === undefined ? '' : `idle ${mb(m.idleMb)}`,
    m.afterMb === undefined ? '' : `after ${mb(m.afterMb)}`,
    m.peakAnonMb === undefined ? '' : `at peak anon ${mb(m.peakAnonMb)} file ${mb(m.peakFileMb)}`,
  ].filter(Boolean);
  return `${m.process} ${mb(m.peakMb)}${more.length ? ` (${more.join(', ')})` : ''}`;
}

/** A Markdown table, one row per contender, ratios against the first row when it is the floor. */
export function table(results: ContenderResult[]): string {
  const floor = results[0]?.name === 'floor' ? results[0].boundMs : 0;
  const header = [
    'run',
    'claims',
    'all created',
    'all PVs',
    'PV lag p99',
    'all Bound',
    'x floor',
    'p50',
    'p99',
    'all released',
    'peak RSS MB (idle, after release)',
    '409s',
  ];
  const rows = results.map((r) => [
    r.name,
    String(r.claims),
    seconds(r.createdMs),
    seconds(r.pvsMs) + (r.firstPvMs === undefined ? '' : ` (first ${seconds(r.firstPvMs)})`),
    seconds(r.pvLagP99Ms),
    seconds(r.boundMs),
    floor > 0 ? (r.boundMs / floor).toFixed(2) : '',
    seconds(r.p50Ms),
    seconds(r.p99Ms),
    seconds(r.releaseMs) + (r.claimsGoneMs === undefined ? '' : ` (claims gone ${seconds(r.claimsGoneMs)})`),
    r.memory.map(memoryCell).join('; '),
    Object.entries(r.conflicts)
      .map(([what, n]) => `${n} ${what}`)
      .join(', ') || '0',
  ]);
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * Writes per claim (every client: the bench, the provisioner, kube-controller-manager), until all
 * were Bound or, with `phase` release, from deleting the claims until their PVs were gone.
 */
export function writesTable(results: ContenderResult[], phase: 'bound' | 'release' = 'bound'): string {
  const writesOf = (r: ContenderResult) => (phase === 'bound' ? r.writes : (r.releaseWrites ?? {}));
  const requests = [...new Set(results.flatMap((r) => Object.keys(writesOf(r))))].sort();
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const perClaim = (r: ContenderResult, key: string) => {
    const n = writesOf(r)[key];
    return n === undefined ? '' : (n / r.claims).toFixed(2);
  };
  const total = (r: ContenderResult) =>
    (Object.values(writesOf(r)).reduce((a, b) => a + b, 0) / r.claims).toFixed(2);
  return [
    line([
      phase === 'bound' ? 'writes per claim' : 'writes per claim, release',
      ...results.map((r) => r.name),
    ]),
    line(['---', ...results.map(() => '---')]),
    ...requests.map((key) => line([key, ...results.map((r) => perClaim(r, key))])),
    line(['all', ...results.map(total)]),
  ].join('\n');
}
