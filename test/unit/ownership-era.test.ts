// The ownership era is read from a share once per process: later volumes reuse it, each backend
// and record root keeps its own, a read that fails is tried again, and a recorded era wins over now.
import { describe, expect, it } from 'vitest';
import { unavailable } from '../../src/errors.ts';
import { ownershipEra, ownershipEraKey } from '../../src/provisioning/ownership.ts';
import { createMemoryDirectoryBackend } from '../fakes/memory-directory-backend.ts';

const first = new Date('2024-01-02T03:04:05.000Z');
const later = new Date('2025-06-07T08:09:10.000Z');
const eraCalls = (backend: ReturnType<typeof createMemoryDirectoryBackend>) =>
  backend.calls.filter((c) => c.args[1] === ownershipEraKey).map((c) => `${c.op} ${c.args[0]}`);

describe('ownershipEra', () => {
  it('records the era once, then answers from memory for that root', async () => {
    const backend = createMemoryDirectoryBackend(['/a', '/b']);
    expect(await ownershipEra(backend, '/a', first)).toEqual(first);
    expect(await ownershipEra(backend, '/a', later)).toEqual(first);
    expect(await ownershipEra(backend, '/a', later)).toEqual(first);
    expect(eraCalls(backend)).toEqual(['getRecord /a', 'putRecord /a']);
    expect(await backend.getRecord('/a', ownershipEraKey)).toEqual({ since: first.toISOString() });
    // Another root of the same backend has an era of its own.
    expect(await ownershipEra(backend, '/b', later)).toEqual(later);
    expect(eraCalls(backend).slice(3)).toEqual(['getRecord /b', 'putRecord /b']);
  });

  it('an era already on the share is read (once) and wins over now; another backend reads its own', async () => {
    const backend = createMemoryDirectoryBackend(['/a']);
    await backend.putRecord('/a', ownershipEraKey, { since: first.toISOString() });
    const other = createMemoryDirectoryBackend(['/a']);
    expect(await ownershipEra(backend, '/a', later)).toEqual(first);
    expect(await ownershipEra(backend, '/a', later)).toEqual(first);
    expect(await ownershipEra(other, '/a', later)).toEqual(later);
    expect(eraCalls(backend)).toEqual(['putRecord /a', 'getRecord /a']);
  });

  it('a read that fails is not remembered: the next call reads the share again', async () => {
    const backend = createMemoryDirectoryBackend(['/a']);
    backend.failNext('getRecord', unavailable('share is not answering'));
    await expect(ownershipEra(backend, '/a', first)).rejects.toThrow('share is not answering');
    expect(await ownershipEra(backend, '/a', later)).toEqual(later);
    expect(eraCalls(backend)).toEqual(['getRecord /a', 'getRecord /a', 'putRecord /a']);
  });

  it('an unreadable era record is replaced by now, and that is remembered', async () => {
    const backend = createMemoryDirectoryBackend(['/a']);
    await backend.putRecord('/a', ownershipEraKey, { since: 'not a date' });
    expect(await ownershipEra(backend, '/a', later)).toEqual(later);
    expect(await ownershipEra(backend, '/a', first)).toEqual(later);
    expect(eraCalls(backend)).toEqual(['putRecord /a', 'getRecord /a', 'putRecord /a']);
  });
});
