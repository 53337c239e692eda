import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { protoFile, siblingEntry } from '../../src/shipped.ts';

describe('siblingEntry', () => {
  it.each([
    [
      'file:///app/src/provisioning/share-worker-process.ts',
      'file:///app/src/provisioning/share-worker-main.ts',
    ],
    ['file:///app/dist/chunk-ABC.js', 'file:///app/dist/share-worker-main.js'],
  ])('from %s: %s', (from, expected) => {
    expect(siblingEntry('share-worker-main', from).href).toBe(expected);
  });
});

describe('protoFile', () => {
  const root = mkdtempSync(join(tmpdir(), 'warren-shipped-'));
  mkdirSync(join(root, 'proto'));
  writeFileSync(join(root, 'proto', 'csi.proto'), '');
  mkdirSync(join(root, 'src', 'csi'), { recursive: true });
  mkdirSync(join(root, 'dist'));
  it.each([
    ['src/csi/load.ts', 'two levels up'],
    ['dist/chunk-ABC.js', 'one level up'],
  ])('from %s (%s)', (module) => {
    expect(protoFile('csi.proto', pathToFileURL(join(root, module)).href)).toBe(
      join(root, 'proto', 'csi.proto'),
    );
  });
  it('names the file and where it looked when it is nowhere above', () => {
    const from = pathToFileURL(join(root, 'dist', 'x.js')).href;
    expect(() => protoFile('missing.proto', from)).toThrow(
      new Error(`proto/missing.proto is not in ${join(root, 'dist')} or any directory above it`),
    );
  });
});
