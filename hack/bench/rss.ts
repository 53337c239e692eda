// Memory of a running process from /proc/<pid>/status: resident now (VmRSS) and at its peak
// (VmHWM, the kernel's high-water mark), sampled over time for the bench's report.
import { readFileSync } from 'node:fs';

export interface MemoryReading {
  rssKb: number;
  peakKb: number;
}

/** Parses the VmRSS and VmHWM lines of a /proc/<pid>/status text; undefined when absent. */
export function parseStatus(text: string): MemoryReading | undefined {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const rssKb = kb('VmRSS');
  const peakKb = kb('VmHWM');
  return rssKb === undefined || peakKb === undefined ? undefined : { rssKb, peakKb };
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
  stop(): void;
}

export function sampleRss(pid: number, everyMs = 250): RssSampler {
  const start = performance.now();
  const samples: Array<[number, number]> = [];
  let peak = 0;
  let last = 0;
  const read = () => {
    const m = readMemory(pid);
    if (!m) return;
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
    stop: () => {
      read();
      clearInterval(timer);
    },
  };
}
