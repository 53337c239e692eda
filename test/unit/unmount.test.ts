// unmountCompletely's time budget: the lazy unmount always gets its turn.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { unmountCompletely } from '../../src/node/unmount.ts';
import { makeMemoryMounter } from '../fakes/memory-mounter.ts';

const log = pino({ level: 'silent' });

function frozenMount() {
  const clock = { t: 0 };
  const mounter = makeMemoryMounter({ elapse: (ms) => (clock.t += ms) });
  mounter.addMount('srv:/export/a', '/mnt/t');
  mounter.hangingServer('srv');
  return { clock, mounter };
}

describe('unmountCompletely', () => {
  it('goes straight to the lazy unmount when the budget cannot fit the other steps', async () => {
    const { clock, mounter } = frozenMount();
    const attempts = await unmountCompletely(
      mounter,
      '/mnt/t',
      { now: () => clock.t, budgetMs: 8_000, stepTimeoutMs: 5_000 },
      log,
    );
    expect(attempts.map((a) => a.mode)).toEqual(['lazy']);
    expect(mounter.entries()).toEqual([]);
    // The lazy unmount detaches at once; its helper is stopped then, not at its time limit.
    expect(clock.t).toBe(0);
  });

  it('escalates plain, force, lazy within the default-sized budget', async () => {
    const { clock, mounter } = frozenMount();
    const attempts = await unmountCompletely(
      mounter,
      '/mnt/t',
      { now: () => clock.t, budgetMs: 20_000, stepTimeoutMs: 5_000 },
      log,
    );
    expect(attempts.map((a) => [a.mode, a.succeeded, a.timedOut])).toEqual([
      ['plain', false, true],
      ['force', false, false],
      ['lazy', true, false],
    ]);
    expect(clock.t).toBe(5_000);
  });

  it('does nothing when nothing is mounted', async () => {
    const mounter = makeMemoryMounter();
    expect(
      await unmountCompletely(mounter, '/mnt/t', { now: () => 0, budgetMs: 1, stepTimeoutMs: 1 }, log),
    ).toEqual([]);
    expect(mounter.calls).toEqual([]);
  });
});
