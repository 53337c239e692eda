// Waiting for a condition: the one polling loop of the bed, the demo, the bench and the tests.
import { setTimeout as sleep } from 'node:timers/promises';

export interface PollOptions {
  /** What is awaited, as the timeout error names it: "claim ns/data to be Bound". */
  what: string;
  /** Give up after this long (default 60 s). */
  timeoutMs?: number;
  /** The longest pause between two tries; the first pause is 50 ms and each one doubles up to this (default 200 ms). */
  intervalMs?: number;
  /** Asked after every try that did not succeed: a reason to stop waiting at once (the process it waits for has exited). */
  giveUpIf?: () => string | undefined;
  /** Appended to the error when waiting fails (a log tail). */
  detail?: () => string;
  /** Time, for tests: the real clock unless replaced. */
  clock?: Clock;
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: Clock = { now: () => Date.now(), sleep: (ms) => sleep(ms) };

/** Thrown when a wait ends without the condition holding; says why and what was seen last. */
export class PollFailed extends Error {
  override name = 'PollFailed';
}

/**
 * Calls `read` until `done` holds for what it returned, and returns that value. A `read` that
 * throws counts as a try that did not succeed; the last error is in the timeout message.
 */
export async function poll<T>(
  read: () => T | Promise<T>,
  done: (value: T) => boolean,
  opts: PollOptions,
): Promise<T> {
  const clock = opts.clock ?? realClock;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const maxPause = opts.intervalMs ?? 200;
  const start = clock.now();
  let tries = 0;
  let last: { value: T } | undefined;
  let lastError: unknown;
  for (let pause = Math.min(50, maxPause); ; pause = Math.min(pause * 2, maxPause)) {
    tries++;
    try {
      const value = await read();
      if (done(value)) return value;
      last = { value };
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    const reason = opts.giveUpIf?.();
    if (reason !== undefined) throw failure(`gave up waiting for ${opts.what}: ${reason}`);
    if (clock.now() - start >= timeoutMs)
      throw failure(`timed out after ${timeoutMs / 1000} s (${tries} tries) waiting for ${opts.what}`);
    await clock.sleep(pause);
  }

  function failure(headline: string): PollFailed {
    const seen = [
      last ? `last value: ${show(last.value)}` : '',
      lastError !== undefined ? `last error: ${errorText(lastError)}` : '',
    ].filter(Boolean);
    const detail = opts.detail?.();
    return new PollFailed(
      [headline + (seen.length ? `; ${seen.join('; ')}` : ''), detail].filter(Boolean).join('\n'),
      lastError === undefined ? {} : { cause: lastError },
    );
  }
}

/** Waits until `check` returns true (same rules as poll). */
export async function pollUntil(check: () => boolean | Promise<boolean>, opts: PollOptions): Promise<void> {
  await poll(check, (ok) => ok, opts);
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 2_000 ? `${text.slice(0, 2_000)}...` : text;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
