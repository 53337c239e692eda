// The bench's pure parts: settings, percentiles and summaries, the table, 409 counts, /proc parsing, plot ticks.
import { describe, expect, it } from 'vitest';
import { byRequest, conflictsOf, difference, writesIn } from '../../hack/bench/api-writes.ts';
import { readBenchConfig } from '../../hack/bench/config.ts';
import { lineChart, tickStep } from '../../hack/bench/plot.ts';
import { type ContenderResult, percentile, summarize, table, writesTable } from '../../hack/bench/report.ts';
import { parseStatus } from '../../hack/bench/rss.ts';

describe('readBenchConfig', () => {
  it('defaults', () => {
    expect(readBenchConfig({})).toEqual({
      claims: 100,
      workers: 16,
      concurrency: 20,
      runs: ['floor', 'warren', 'sidecar', 'sidecar-tuned'],
      atRest: true,
      bundle: true,
      backlog: false,
    });
  });
  it('reads every variable', () => {
    expect(
      readBenchConfig({
        WARREN_BENCH_CLAIMS: '1000',
        WARREN_BENCH_WORKERS: '32',
        WARREN_BENCH_CONCURRENCY: '50',
        WARREN_BENCH_RUNS: 'floor, warren',
        WARREN_BENCH_PROFILE_DIR: '/tmp/prof',
        WARREN_BENCH_AT_REST: 'false',
        WARREN_BENCH_RATE: '20',
        WARREN_BENCH_BUNDLE: 'false',
        WARREN_BENCH_BACKLOG: 'true',
      }),
    ).toEqual({
      claims: 1000,
      workers: 32,
      concurrency: 50,
      rate: 20,
      runs: ['floor', 'warren'],
      profileDir: '/tmp/prof',
      atRest: false,
      bundle: false,
      backlog: true,
    });
  });
  it('a run may leave the floor out (then it has no ratio to it), in a backlog or not', () => {
    expect(readBenchConfig({ WARREN_BENCH_RUNS: 'warren', WARREN_BENCH_BACKLOG: 'true' }).runs).toEqual([
      'warren',
    ]);
    expect(readBenchConfig({ WARREN_BENCH_RUNS: 'warren,sidecar' }).runs).toEqual(['warren', 'sidecar']);
  });
  it.each([
    [{ WARREN_BENCH_CLAIMS: '0' }, 'WARREN_BENCH_CLAIMS=0: expected a whole number of at least 1'],
    [{ WARREN_BENCH_CLAIMS: '1e3' }, 'WARREN_BENCH_CLAIMS=1e3: expected a whole number of at least 1'],
    [
      { WARREN_BENCH_RUNS: 'floor,kcm' },
      'WARREN_BENCH_RUNS=floor,kcm: expected a comma-separated list of floor, warren, sidecar, sidecar-tuned',
    ],
    [
      { WARREN_BENCH_RUNS: 'warren,floor' },
      'WARREN_BENCH_RUNS=warren,floor: floor must come first (the ratios are to it)',
    ],
    [{ WARREN_BENCH_PROFILE_DIR: 'prof' }, 'WARREN_BENCH_PROFILE_DIR=prof: expected an absolute directory'],
    [{ WARREN_BENCH_AT_REST: 'yes' }, 'WARREN_BENCH_AT_REST=yes: expected true or false'],
    [{ WARREN_BENCH_BUNDLE: '1' }, 'WARREN_BENCH_BUNDLE=1: expected true or false'],
    [{ WARREN_BENCH_BACKLOG: 'yes' }, 'WARREN_BENCH_BACKLOG=yes: expected true or false'],
    [{ WARREN_BENCH_RATE: '0.5' }, 'WARREN_BENCH_RATE=0.5: expected a whole number of at least 1'],
  ])('%j is refused', (env, message) => {
    expect(() => readBenchConfig(env)).toThrow(new Error(message));
  });
});

describe('percentile (nearest rank)', () => {
  it.each([
    [[], 0.5, Number.NaN],
    [[7], 0.99, 7],
    [[4, 1, 3, 2], 0.5, 2],
    [[4, 1, 3, 2], 0.99, 4],
    [Array.from({ length: 100 }, (_, i) => i + 1), 0.99, 99],
  ])('%j at %d is %d', (values, q, expected) => {
    expect(percentile(values, q)).toBe(expected);
  });
});

describe('summarize', () => {
  it('times from the start, latency per claim from its creation', () => {
    const s = summarize(
      {
        created: new Map([
          ['a', 1_100],
          ['b', 1_200],
        ]),
        bound: new Map([
          ['b', 3_200],
          ['a', 2_100],
        ]),
        pvSeen: new Map([
          ['pv-a', 1_500],
          ['pv-b', 2_000],
        ]),
      },
      1_000,
    );
    expect(s).toEqual({
      createdMs: 200,
      pvsMs: 1_000,
      firstPvMs: 500,
      boundMs: 2_200,
      p50Ms: 1_000,
      p99Ms: 2_000,
      curve: [
        [0, 0],
        [1.1, 1],
        [2.2, 2],
      ],
    });
  });
});

describe('summarize with uids', () => {
  it("a claim's PV lag is from its creation until pvc-<uid> was seen", () => {
    const s = summarize(
      {
        created: new Map([
          ['a', 1_100],
          ['b', 1_200],
        ]),
        bound: new Map(),
        pvSeen: new Map([
          ['pvc-uid-a', 1_150],
          ['pvc-uid-b', 1_500],
          ['pvc-someone-else', 9_000],
        ]),
        uids: new Map([
          ['a', 'uid-a'],
          ['b', 'uid-b'],
        ]),
      },
      1_000,
    );
    expect(s.pvLagP99Ms).toBe(300);
  });
});

describe('table', () => {
  const row = (over: Partial<ContenderResult>): ContenderResult => ({
    name: 'floor',
    claims: 2,
    startMs: 0,
    createdMs: 500,
    pvsMs: 1_000,
    boundMs: 10_000,
    p50Ms: 4_000,
    p99Ms: 9_000,
    memory: [],
    conflicts: {},
    writes: {},
    curve: [],
    ...over,
  });
  it('one row per contender, ratios to the first', () => {
    expect(
      table([
        row({}),
        row({
          name: 'warren controller',
          boundMs: 25_000,
          releaseMs: 3_000,
          claimsGoneMs: 2_500,
          firstPvMs: 600,
          pvLagP99Ms: 400,
          memory: [{ process: 'controller', peakMb: 150.4, idleMb: 80, afterMb: 120 }],
          conflicts: { 'update persistentvolumeclaims': 12 },
        }),
      ]),
    ).toBe(
      [
        '| run | claims | all created | all PVs | PV lag p99 | all Bound | x floor | p50 | p99 | all released | peak RSS MB (idle, after release) | 409s |',
        '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
        '| floor | 2 | 0.5 s | 1.0 s |  | 10.0 s | 1.00 | 4.0 s | 9.0 s |  |  | 0 |',
        '| warren controller | 2 | 0.5 s | 1.0 s (first 0.6 s) | 0.4 s | 25.0 s | 2.50 | 4.0 s | 9.0 s | 3.0 s (claims gone 2.5 s) | controller 150 (idle 80, after 120) | 12 update persistentvolumeclaims |',
      ].join('\n'),
    );
  });
  it('no ratio without the floor first (a backlog run)', () => {
    expect(table([row({ name: 'warren controller' })]).split('\n')[2]).toBe(
      '| warren controller | 2 | 0.5 s | 1.0 s |  | 10.0 s |  | 4.0 s | 9.0 s |  |  | 0 |',
    );
  });
});

describe('writesIn, conflictsOf, byRequest, difference', () => {
  const page = [
    '# TYPE apiserver_request_total counter',
    'apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="persistentvolumeclaims",scope="resource",subresource="",verb="PATCH",version="v1"} 40',
    'apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="persistentvolumeclaims",scope="resource",subresource="",verb="GET",version="v1"} 99',
    'apiserver_request_total{code="409",component="apiserver",dry_run="",group="",resource="persistentvolumeclaims",scope="resource",subresource="",verb="PATCH",version="v1"} 7',
    'apiserver_request_total{code="409",component="apiserver",dry_run="",group="",resource="persistentvolumeclaims",scope="resource",subresource="status",verb="PUT",version="v1"} 2',
    'apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="persistentvolumes",scope="resource",subresource="",verb="POST",version="v1"} 3',
  ].join('\n');
  it('counts writes only, by verb, resource and code', () => {
    expect(writesIn(page)).toEqual({
      'PATCH persistentvolumeclaims 200': 40,
      'PATCH persistentvolumeclaims 409': 7,
      'PUT persistentvolumeclaims/status 409': 2,
      'POST persistentvolumes 201': 3,
    });
  });
  it('409s by request, and requests whatever the code', () => {
    const writes = writesIn(page);
    expect(conflictsOf(writes)).toEqual({
      'PATCH persistentvolumeclaims': 7,
      'PUT persistentvolumeclaims/status': 2,
    });
    expect(byRequest(writes)).toEqual({
      'PATCH persistentvolumeclaims': 47,
      'PUT persistentvolumeclaims/status': 2,
      'POST persistentvolumes': 3,
    });
  });
  it('keeps what grew', () => {
    expect(difference({ a: 5, b: 2, c: 1 }, { a: 3, b: 2 })).toEqual({ a: 2, c: 1 });
  });
});

describe('parseStatus', () => {
  it('reads VmRSS and VmHWM', () => {
    expect(parseStatus('Name:\tnode\nVmHWM:\t  536000 kB\nVmRSS:\t  323000 kB\nThreads:\t11\n')).toEqual({
      rssKb: 323_000,
      peakKb: 536_000,
    });
  });
  it('undefined without them (a zombie has no Vm lines)', () => {
    expect(parseStatus('Name:\tnode\nState:\tZ (zombie)\n')).toBeUndefined();
  });
});

describe('plot', () => {
  it.each([
    [0, 1],
    [7, 2],
    [100, 20],
    [416, 100],
    [1000, 200],
  ])('tickStep(%d) is %d', (max, step) => {
    expect(tickStep(max)).toBe(step);
  });
  it('one path per curve, names escaped in the legend', () => {
    const svg = lineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      curves: [
        {
          name: 'a<b',
          points: [
            [0, 0],
            [1, 1],
          ],
        },
        { name: 'c', points: [[0, 0]] },
      ],
    });
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg).toContain('a&lt;b (last: 1)');
  });
});

describe('writesTable', () => {
  /** A contender's result with only what the writes table reads left to each test. */
  const resultOf = (claims: number) => ({
    claims,
    startMs: 0,
    createdMs: 0,
    pvsMs: 0,
    boundMs: 1,
    p50Ms: 0,
    p99Ms: 0,
    memory: [],
    conflicts: {},
    curve: [],
  });

  it('per claim, one column per contender, blank where a contender made no such write', () => {
    const base = resultOf(2);
    expect(
      writesTable([
        {
          ...base,
          name: 'floor',
          writes: { 'POST persistentvolumes': 2, 'PUT persistentvolumes/status': 2 },
        },
        {
          ...base,
          name: 'warren',
          writes: { 'POST persistentvolumes': 2, 'PATCH persistentvolumeclaims': 5 },
        },
      ]),
    ).toBe(
      [
        '| writes per claim | floor | warren |',
        '| --- | --- | --- |',
        '| PATCH persistentvolumeclaims |  | 2.50 |',
        '| POST persistentvolumes | 1.00 | 1.00 |',
        '| PUT persistentvolumes/status | 1.00 |  |',
        '| all | 2.00 | 3.50 |',
      ].join('\n'),
    );
  });

  it("the release phase from each contender's release writes, none where not measured", () => {
    const base = { ...resultOf(4), writes: { 'POST persistentvolumes': 4 } };
    expect(
      writesTable(
        [
          { ...base, name: 'floor', releaseWrites: { 'PUT persistentvolumes/status': 4 } },
          {
            ...base,
            name: 'warren',
            releaseWrites: { 'PATCH persistentvolumes/status': 3, 'DELETE persistentvolumes': 4 },
          },
          { ...base, name: 'old run' },
        ],
        'release',
      ),
    ).toBe(
      [
        '| writes per claim, release | floor | warren | old run |',
        '| --- | --- | --- | --- |',
        '| DELETE persistentvolumes |  | 1.00 |  |',
        '| PATCH persistentvolumes/status |  | 0.75 |  |',
        '| PUT persistentvolumes/status | 1.00 |  |  |',
        '| all | 1.00 | 1.75 | 0.00 |',
      ].join('\n'),
    );
  });
});
