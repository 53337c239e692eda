// Summarizes V8 profiles written by `node --cpu-prof` / `--heap-prof` (as the bench does with
// WARREN_BENCH_PROFILE_DIR): the heaviest functions and packages, by self and total share.
// Usage: node hack/bench/profile-top.ts FILE.cpuprofile|FILE.heapprofile [rows]
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: CpuNode[];
  samples: number[];
  timeDeltas: number[];
}

interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

/** Where a frame's code lives: a package, Node's own code, the project, or V8 itself. */
export function packageOf(url: string): string {
  if (url === '') return '(native/V8)';
  if (url.startsWith('node:')) return 'node:';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  const src = url.indexOf('/src/');
  return src >= 0
    ? `warren ${url
        .slice(src + 1)
        .split('/')
        .slice(0, 2)
        .join('/')}`
    : url;
}

export function frameName(f: CallFrame): string {
  const file = f.url.split('/').slice(-2).join('/');
  return `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
}

/** Self and total weight by key, each key counted once per stack (recursion is not doubled). */
export function weigh(
  stacks: Iterable<{ frames: CallFrame[]; weight: number }>,
  key: (f: CallFrame) => string,
): { self: Map<string, number>; total: Map<string, number>; sum: number } {
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let sum = 0;
  for (const { frames, weight } of stacks) {
    sum += weight;
    const leaf = frames[0];
    if (leaf) self.set(key(leaf), (self.get(key(leaf)) ?? 0) + weight);
    for (const k of new Set(frames.map(key))) total.set(k, (total.get(k) ?? 0) + weight);
  }
  return { self, total, sum };
}

function* cpuStacks(p: CpuProfile) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stackOf = new Map<number, CallFrame[]>();
  const framesOf = (id: number): CallFrame[] => {
    const cached = stackOf.get(id);
    if (cached) return cached;
    const frames: CallFrame[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      if (node && node.callFrame.functionName !== '(root)') frames.push(node.callFrame);
    }
    stackOf.set(id, frames);
    return frames;
  };
  for (let i = 0; i < p.samples.length; i++) {
    yield { frames: framesOf(p.samples[i] as number), weight: p.timeDeltas[i] ?? 0 };
  }
}

function* heapStacks(
  node: HeapNode,
  above: CallFrame[] = [],
): Generator<{ frames: CallFrame[]; weight: number }> {
  const frames = node.callFrame.functionName === '(root)' ? above : [node.callFrame, ...above];
  if (node.selfSize > 0) yield { frames, weight: node.selfSize };
  for (const c of node.children) yield* heapStacks(c, frames);
}

function top(map: Map<string, number>, sum: number, rows: number, unit: (v: number) => string): string[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, rows)
    .map(([k, v]) => `${((100 * v) / sum).toFixed(1).padStart(5)}%  ${unit(v).padStart(9)}  ${k}`);
}

if (import.meta.main) {
  const [file, rowsArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: node hack/bench/profile-top.ts FILE.cpuprofile|FILE.heapprofile [rows]');
  const rows = Number(rowsArg ?? 25);
  const data = JSON.parse(readFileSync(file, 'utf8'));
  const isHeap = 'head' in data;
  const stacks = [
    ...(isHeap ? heapStacks((data as { head: HeapNode }).head) : cpuStacks(data as CpuProfile)),
  ];
  const unit = isHeap
    ? (b: number) => `${(b / 1024).toFixed(0)} KB`
    : (us: number) => `${(us / 1000).toFixed(0)} ms`;
  const byFunction = weigh(stacks, frameName);
  const byPackage = weigh(stacks, (f) => packageOf(f.url));
  const what = isHeap ? 'live sampled allocations' : 'CPU time';
  console.log(`${file}: ${unit(byFunction.sum)} of ${what}\n`);
  console.log(`by package, self:\n${top(byPackage.self, byPackage.sum, rows, unit).join('\n')}\n`);
  console.log(
    `by package, total (inclusive):\n${top(byPackage.total, byPackage.sum, rows, unit).join('\n')}\n`,
  );
  console.log(`by function, self:\n${top(byFunction.self, byFunction.sum, rows, unit).join('\n')}\n`);
  console.log(
    `by function, total (inclusive):\n${top(byFunction.total, byFunction.sum, rows, unit).join('\n')}`,
  );
}
