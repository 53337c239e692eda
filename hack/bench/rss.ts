// Memory of a running process from /proc/<pid>/status: resident now (VmRSS) and at its peak
// (VmHWM, the kernel's high-water mark), sampled over time for the bench's report.
import { readFileSync } from 'node:fs';

export interface MemoryReading {
  rssKb: number;
  peakKb: number;
  /** RSS split: anonymous memory (heap, malloc arenas) and file-backed pages (the node binary, libraries). */
  anonKb?: number;
  fileKb?: number;
}

/** Parses the VmRSS and VmHWM lines of a /proc/<pid>/status text; undefined when absent. */
export function parseStatus(text: string): MemoryReading | undefined {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const rssKb = kb('VmRSS');
  const peakKb = kb('VmHWM');
  if (rssKb === undefined || peakKb === undefined) return undefined;
  const anonKb = kb('RssAnon');
  const fileKb = kb('RssFile');
  return {
    rssKb,
    peakKb,
    ...(anonKb === undefined ? {} : { anonKb }),
    ...(fileKb === undefined ? {} : { fileKb }),
  };
}

/** The child processes of pid (its share workers, for the controller). */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

export function readMemory(pid: number): MemoryReading | undefined {
  try {
    return parseStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return undefined; // gone
  }
}

export interface RssSampler {
  /** [seconds since the sampler started, RSS in kB]. */
  samples: Array<[number, number]>;
  /** Highest VmHWM seen, in kB (0 if the process was never read). */
  peakKb(): number;
  /** The last RSS read, in kB. */
  lastKb(): number;
  /** The reading with the highest RSS sampled (with its anonymous and file-backed split). */
  highest(): MemoryReading | undefined;
  stop(): void;
}

export function sampleRss(pid: number, everyMs = 250): RssSampler {
  const start = performance.now();
  const samples: Array<[number, number]> = [];
  let peak = 0;
  let last = 0;
  let highest: MemoryReading | undefined;
  const read = () => {
    const m = readMemory(pid);
    if (!m) return;
    if (!highest || m.rssKb > highest.rssKb) highest = m;
    peak = Math.max(peak, m.peakKb);
    last = m.rssKb;
    samples.push([(performance.now() - start) / 1000, m.rssKb]);
  };
  read();
  const timer = setInterval(read, everyMs);
  return {
    samples,
    peakKb: () => peak,
    lastKb: () => last,
    highest: () => highest,
    stop: () => {
      read();
      clearInterval(timer);
    },
  };
}
