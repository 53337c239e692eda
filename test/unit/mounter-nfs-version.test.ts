// Which NFS version a request names, and whether an existing mount serves it.
import { describe, expect, it } from 'vitest';
import { nfsVersionIn, nfsVersionsAgree } from '../../src/node/mounter.ts';

describe('nfsVersionIn', () => {
  it.each([
    [['vers=4.1'], '4.1'],
    [['hard', 'nfsvers=3'], '3'],
    [['vers=3', 'nfsvers=4.2'], '4.2'],
    [['hard', 'timeo=600'], undefined],
    [[], undefined],
    [['noversion=4'], undefined],
  ])('%j -> %s', (options, version) => {
    expect(nfsVersionIn(options)).toBe(version);
  });
});

describe('nfsVersionsAgree', () => {
  it.each([
    ['4.1', '4.1', true],
    ['4', '4.2', true],
    ['4', '4.0', true],
    ['4.0', '4', true],
    ['4.0', '4.0', true],
    ['3', '3', true],
    ['4.1', '4.2', false],
    ['4.2', '4.1', false],
    ['3', '4.1', false],
    ['4', '3', false],
    ['4.1', '4', false],
  ])('requested %s, mounted %s -> %s', (requested, mounted, agree) => {
    expect(nfsVersionsAgree(requested, mounted)).toBe(agree);
  });
});
