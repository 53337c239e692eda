import { describe, expect, it } from 'vitest';
import { makeCopyLane } from '../../src/claims/copy-lane.ts';
import type { CopyStats } from '../../src/provisioning/tree-copy.ts';

const stats: CopyStats = {
  directories: 1,
  files: 2,
  symlinks: 0,
  hardLinks: 0,
  bytes: 10,
  skipped: [],
  ownersNotKept: 0,
  linked: 0,
  fileBytes: 10,
};

function controlled() {
  let resolve: (s: CopyStats) => void = () => {};
  let reject: (e: unknown) => void = () => {};
  const promise = new Promise<CopyStats>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { copy: () => promise, resolve, reject };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('copy lane', () => {
  it('runs at most `concurrency` copies; the rest wait; each settled copy re-queues its key', async () => {
    const settled: string[] = [];
    const lane = makeCopyLane({ concurrency: 2, onSettled: (k) => settled.push(k) });
    const [a, b, c] = [controlled(), controlled(), controlled()];
    lane.submit('a', a.copy);
    lane.submit('b', b.copy);
    lane.submit('c', c.copy);
    expect([lane.peek('a'), lane.peek('b'), lane.peek('c'), lane.running]).toStrictEqual([
      { state: 'running' },
      { state: 'running' },
      { state: 'queued' },
      2,
    ]);
    a.resolve(stats);
    await settle();
    expect(lane.peek('a')).toMatchObject({ state: 'done', stats });
    expect(lane.peek('c')).toStrictEqual({ state: 'running' });
    b.reject(new Error('full'));
    await settle();
    expect(lane.peek('b')).toMatchObject({ state: 'failed', error: new Error('full') });
    expect(settled).toStrictEqual(['a', 'b']);
    c.resolve(stats);
    await settle();
    expect(settled).toStrictEqual(['a', 'b', 'c']);
    expect(lane.running).toBe(0);
  });

  it('a key already known is not copied twice; forget drops only a settled copy', async () => {
    const lane = makeCopyLane({ concurrency: 1, onSettled: () => {} });
    const a = controlled();
    let calls = 0;
    lane.submit('a', () => {
      calls++;
      return a.copy();
    });
    lane.submit('a', () => {
      calls++;
      return a.copy();
    });
    lane.forget('a');
    expect([calls, lane.peek('a')]).toStrictEqual([1, { state: 'running' }]);
    a.resolve(stats);
    await settle();
    lane.forget('a');
    expect(lane.peek('a')).toBeUndefined();
  });
});
