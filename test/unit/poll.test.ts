// hack/lib/poll.ts: when a wait returns, when it gives up, and what its error says, on a fake clock.
import { describe, expect, it } from 'vitest';
import { type Clock, PollFailed, poll, pollUntil } from '../../hack/lib/poll.ts';

/** A clock that only moves when the poller sleeps, recording each pause. */
function fakeClock(): Clock & { pauses: number[] } {
  let now = 0;
  const pauses: number[] = [];
  return {
    pauses,
    now: () => now,
    sleep: async (ms) => {
      pauses.push(ms);
      now += ms;
    },
  };
}

/** A read that returns the given results in turn (an Error is thrown), then repeats the last. */
function scripted(results: Array<number | Error>): () => Promise<number> {
  let i = 0;
  return async () => {
    const r = results[Math.min(i++, results.length - 1)] as number | Error;
    if (r instanceof Error) throw r;
    return r;
  };
}

describe('poll', () => {
  it.each([
    { case: 'done at once', results: [3], value: 3, pauses: [] },
    { case: 'done on the third try', results: [1, 2, 3], value: 3, pauses: [50, 100] },
    { case: 'errors count as tries', results: [new Error('refused'), 3], value: 3, pauses: [50] },
    {
      case: 'pauses double up to the interval',
      results: [0, 0, 0, 0, 0, 3],
      value: 3,
      pauses: [50, 100, 200, 200, 200],
    },
  ])('$case', async ({ results, value, pauses }) => {
    const clock = fakeClock();
    expect(await poll(scripted(results), (v) => v === 3, { what: 'three', clock })).toBe(value);
    expect(clock.pauses).toEqual(pauses);
  });

  it('times out naming what it waited for, the tries, the last value and the detail', async () => {
    const clock = fakeClock();
    const err = await poll(scripted([1, 2]), (v) => v === 3, {
      what: 'three',
      timeoutMs: 1_000,
      clock,
      detail: () => 'log tail',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PollFailed);
    expect((err as Error).message).toBe(
      'timed out after 1 s (8 tries) waiting for three; last value: 2\nlog tail',
    );
    expect(clock.pauses).toEqual([50, 100, 200, 200, 200, 200, 200]);
  });

  it('reports the last error, and keeps it as the cause', async () => {
    const refused = new Error('connection refused');
    const err = (await poll(scripted([1, refused]), (v) => v === 3, {
      what: 'three',
      timeoutMs: 100,
      clock: fakeClock(),
    }).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe(
      'timed out after 0.1 s (3 tries) waiting for three; last value: 1; last error: connection refused',
    );
    expect(err.cause).toBe(refused);
  });

  it('gives up at once when giveUpIf names a reason, after the try that saw it', async () => {
    const clock = fakeClock();
    let alive = 2;
    const err = (await pollUntil(async () => false, {
      what: 'ready',
      clock,
      giveUpIf: () => (--alive > 0 ? undefined : 'it exited'),
    }).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe('gave up waiting for ready: it exited; last value: false');
    expect(clock.pauses).toEqual([50]);
  });

  it('does not ask giveUpIf once the condition holds', async () => {
    const clock = fakeClock();
    await pollUntil(async () => true, {
      what: 'ready',
      clock,
      giveUpIf: () => 'never asked',
    });
    expect(clock.pauses).toEqual([]);
  });
});
