import { describe, expect, it } from 'vitest';
import { claimKey, contentKey, parseQueueKey, volumeKey } from '../../src/claims/queue-keys.ts';

describe('queue keys', () => {
  it.each([
    [claimKey('team-a', 'data'), { kind: 'claim', namespace: 'team-a', name: 'data' }],
    [volumeKey('pvc-1'), { kind: 'volume', name: 'pvc-1' }],
    [claimKey('a.b', 'c-d.e'), { kind: 'claim', namespace: 'a.b', name: 'c-d.e' }],
    [contentKey('snapcontent-1'), { kind: 'content', name: 'snapcontent-1' }],
  ])('%s reads back as the object it names', (key, expected) => {
    expect(parseQueueKey(key)).toStrictEqual(expected);
  });

  it('refuses what no writer makes', () => {
    expect(() => parseQueueKey('storageclass/x')).toThrow('not a queue key: storageclass/x');
  });
});
