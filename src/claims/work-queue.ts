// A keyed work queue: duplicate adds collapse, one key is processed by at most one worker at
// a time (an add during processing re-queues it afterwards), and failed keys come back after
// a per-key exponential backoff.

export interface Backoff {
  baseMs: number;
  maxMs: number;
}

export interface WorkQueueOptions {
  /** For transient failures (API conflicts, NFS hiccups). */
  fast: Backoff;
  /** For failures the user must fix (bad parameters, unconfigured share). */
  slow: Backoff;
  onDepthChange?: (depth: number) => void;
}

export type Outcome = 'done' | 'retry-fast' | 'retry-slow';

export function backoffDelay(b: Backoff, failures: number): number {
  return Math.min(b.maxMs, b.baseMs * 2 ** Math.max(0, failures - 1));
}

export class WorkQueue {
  readonly #queue: string[] = [];
  readonly #queued = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Map<string, { timer: NodeJS.Timeout; due: number }>();
  readonly #waiters: Array<() => void> = [];
  readonly #opts: WorkQueueOptions;
  #shutDown = false;

  constructor(opts: WorkQueueOptions) {
    this.#opts = opts;
  }

  get depth(): number {
    return this.#queue.length;
  }

  add(key: string): void {
    if (this.#shutDown) return;
    if (this.#processing.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#queue.push(key);
    this.#opts.onDepthChange?.(this.#queue.length);
    this.#waiters.shift()?.();
  }

  /** Adds the key after delayMs; if it is already waiting, the earlier deadline wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shutDown) return;
    const due = Date.now() + delayMs;
    const pending = this.#timers.get(key);
    if (pending) {
      if (pending.due <= due) return;
      clearTimeout(pending.timer);
    }
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.#timers.set(key, { timer, due });
  }

  /** Runs `workers` loops until shutDown(); each key's outcome decides whether and when it returns. */
  async run(workers: number, handle: (key: string) => Promise<Outcome>): Promise<void> {
    await Promise.all(Array.from({ length: workers }, () => this.#worker(handle)));
  }

  shutDown(): void {
    this.#shutDown = true;
    for (const t of this.#timers.values()) clearTimeout(t.timer);
    this.#timers.clear();
    for (const wake of this.#waiters.splice(0)) wake();
  }

  async #worker(handle: (key: string) => Promise<Outcome>): Promise<void> {
    while (!this.#shutDown) {
      const key = this.#queue.shift();
      if (key === undefined) {
        await new Promise<void>((resolve) => this.#waiters.push(resolve));
        continue;
      }
      this.#queued.delete(key);
      this.#processing.add(key);
      this.#opts.onDepthChange?.(this.#queue.length);
      let outcome: Outcome;
      try {
        outcome = await handle(key);
      } catch {
        outcome = 'retry-fast';
      }
      this.#processing.delete(key);
      this.#settle(key, outcome);
    }
  }

  #settle(key: string, outcome: Outcome): void {
    if (outcome === 'done') {
      this.#failures.delete(key);
    } else {
      const failures = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, failures);
      this.addAfter(
        key,
        backoffDelay(outcome === 'retry-slow' ? this.#opts.slow : this.#opts.fast, failures),
      );
    }
    if (this.#dirty.delete(key)) this.add(key);
  }
}
