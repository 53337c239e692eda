// CSI CreateSnapshot / DeleteSnapshot / ListSnapshots and CreateVolume from a snapshot, served by a
// real grpc-js server over the in-memory directory backend and copier, with exact status codes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreateVolumeRequest } from '../../src/csi/generated/csi/v1/CreateVolumeRequest.ts';
import { type CsiServer, startCsiServer } from '../../src/csi/server.ts';
import { makeControllerService } from '../../src/csi-controller/controller-service.ts';
import { createMemoryDirectoryBackend } from '../fakes/memory-directory-backend.ts';
import { createMemoryTreeCopier } from '../fakes/memory-tree-copier.ts';
import { type CsiClients, call, csiClients, expectStatus } from './csi-grpc-client.ts';
import { captureLog } from './csi-log-capture.ts';

const root = '/exports/main';
const backend = createMemoryDirectoryBackend([root]);
const copier = createMemoryTreeCopier(backend);
const shares = [{ server: 'nfs.example.com', share: '/export', localDir: root }];
let clock = 0;
const now = () => new Date(Date.UTC(2026, 0, 1) + clock++ * 1500);
const capture = captureLog();
let dir: string;
let server: CsiServer;
let c: CsiClients;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warren-csi-snap-'));
  server = await startCsiServer({
    endpoint: `unix://${dir}/csi.sock`,
    log: capture.log,
    services: { Controller: makeControllerService({ store: { shares, backend }, now, copier }) },
  });
  c = csiClients(server.address);
});
afterAll(async () => {
  c.close();
  await server.stop(1000);
  await rm(dir, { recursive: true, force: true });
});

const mountCap = { mount: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' as const } };
const createReq = (name: string, extra: Partial<CreateVolumeRequest> = {}): CreateVolumeRequest => ({
  name,
  volume_capabilities: [mountCap],
  parameters: { server: 'nfs.example.com', share: '/export' },
  capacity_range: { required_bytes: 1024 },
  ...extra,
});
const createVolume = (request: CreateVolumeRequest) =>
  call(c.controller.CreateVolume.bind(c.controller), request);
const snap = (name: string, source_volume_id: string, parameters: Record<string, string> = {}) =>
  call(c.controller.CreateSnapshot.bind(c.controller), { name, source_volume_id, parameters });
const list = (request: Record<string, unknown> = {}) =>
  call(c.controller.ListSnapshots.bind(c.controller), request);
const delSnap = (snapshot_id: string) =>
  call(c.controller.DeleteSnapshot.bind(c.controller), { snapshot_id });
const volumeId = (subDir: string) => `1#d#nfs.example.com#/export#${subDir}`;
const ids = (answer: { entries: Array<{ snapshot: { snapshot_id: string } | null }> }) =>
  answer.entries.map((e) => e.snapshot?.snapshot_id);

async function volumeWith(name: string, content: string) {
  await createVolume(createReq(name));
  backend.plant(`${root}/${name}/data.txt`, { kind: 'file', content });
  return volumeId(name);
}

describe('CreateSnapshot', () => {
  it.each([
    ['no name', '', 'v', 'name is required'],
    ['no source volume', 'n', '', 'source_volume_id is required'],
  ])('refuses %s with INVALID_ARGUMENT', async (_what, name, source, fragment) => {
    await expectStatus(snap(name, source), status.INVALID_ARGUMENT, fragment);
  });

  it('refuses a parameter it does not know, and takes csi-snapshotter metadata', async () => {
    const source = await volumeWith('params', 'x');
    await expectStatus(snap('p1', source, { compress: 'yes' }), status.INVALID_ARGUMENT, '"compress"');
    const answer = await snap('p1', source, { 'csi.storage.k8s.io/volumesnapshot/name': 'vs' });
    expect(answer.snapshot?.ready_to_use).toBe(true);
  });

  it('an unknown or gone source volume is NOT_FOUND', async () => {
    await expectStatus(snap('n', 'testId'), status.NOT_FOUND, '"testId" does not exist');
    await expectStatus(snap('n', volumeId('never-made')), status.NOT_FOUND, 'is gone; nothing to snapshot');
  });

  it('answers the complete snapshot; the same name and source again give it back', async () => {
    const source = await volumeWith('src-1', 'hello');
    const first = await snap('snapshot-1', source);
    expect(first.snapshot).toEqual({
      size_bytes: '5',
      snapshot_id: 's1#nfs.example.com#/export#snapshot-1',
      source_volume_id: source,
      creation_time: { seconds: expect.any(String), nanos: expect.any(Number) },
      ready_to_use: true,
      group_snapshot_id: '',
    });
    expect(await snap('snapshot-1', source)).toEqual(first);
    const other = await volumeWith('src-2', 'other');
    await expectStatus(snap('snapshot-1', other), status.ALREADY_EXISTS, 'is taken by snapshot');
  });

  it('a name of 128 bytes is kept as a digest name on the share', async () => {
    const source = await volumeWith('src-long', 'x');
    const answer = await snap('n'.repeat(128), source);
    expect(answer.snapshot?.snapshot_id).toMatch(/^s1#nfs\.example\.com#\/export#n_[A-Za-z0-9_-]{32}$/);
    expect(await snap('n'.repeat(128), source)).toEqual(answer);
  });
});

describe('ListSnapshots and DeleteSnapshot', () => {
  it('pages with max_entries and next_token, filters by id and source, deletes idempotently', async () => {
    for (const entry of (await list()).entries) await delSnap(entry.snapshot?.snapshot_id ?? '');
    const a = await volumeWith('list-a', 'aaaa');
    const b = await volumeWith('list-b', 'bb');
    const taken: string[] = [];
    for (const [name, source] of [
      ['l1', a],
      ['l2', b],
      ['l3', a],
      ['l4', b],
      ['l5', a],
    ] as const) {
      taken.push((await snap(name, source)).snapshot?.snapshot_id ?? '');
    }
    expect(ids(await list())).toEqual(taken);
    const page1 = await list({ max_entries: 2 });
    expect(ids(page1)).toEqual(taken.slice(0, 2));
    expect(page1.next_token).not.toBe('');
    // A snapshot of the first page deleted between pages shifts nothing.
    await delSnap(taken[0] ?? '');
    const rest = await list({ starting_token: page1.next_token });
    expect(ids(rest)).toEqual(taken.slice(2));
    expect(rest.next_token).toBe('');
    expect(ids(await list({ source_volume_id: a }))).toEqual([taken[2], taken[4]]);
    expect(ids(await list({ snapshot_id: taken[3] }))).toEqual([taken[3]]);
    expect(ids(await list({ snapshot_id: 'none-exist-id' }))).toEqual([]);
    expect(ids(await list({ source_volume_id: 'fake-volume-id' }))).toEqual([]);
    expect(ids(await list({ source_volume_id: volumeId('no-snapshots') }))).toEqual([]);
    // On a share this controller does not serve: nothing it can list.
    expect(ids(await list({ snapshot_id: 's1#other.example.com#/export#l1' }))).toEqual([]);
    expect(ids(await list({ source_volume_id: '1#d#other.example.com#/export#list-a' }))).toEqual([]);
    await expectStatus(list({ starting_token: 'bogus' }), status.ABORTED, 'starting_token "bogus"');
    await expectStatus(list({ max_entries: -1 }), status.INVALID_ARGUMENT, 'max_entries -1');

    expect(await delSnap(taken[1] ?? '')).toEqual({});
    expect(await delSnap(taken[1] ?? '')).toEqual({});
    expect(await delSnap('reallyfakesnapshotid')).toEqual({});
    await expectStatus(delSnap(''), status.INVALID_ARGUMENT, 'snapshot_id is required');
    expect(ids(await list())).toEqual(taken.slice(2));
  });
});

describe('CreateVolume from a snapshot', () => {
  it('restores the snapshot into the new volume and echoes the source', async () => {
    const source = await volumeWith('restore-src', 'version 1');
    const id = (await snap('restore-me', source)).snapshot?.snapshot_id ?? '';
    backend.plant(`${root}/restore-src/data.txt`, { kind: 'file', content: 'version 2' });
    const content = { snapshot: { snapshot_id: id } };
    const answer = await createVolume(createReq('restored', { volume_content_source: content }));
    expect(answer.volume?.content_source).toEqual({ snapshot: { snapshot_id: id }, type: 'snapshot' });
    expect(backend.entries.get(`${root}/restored/data.txt`)).toEqual({ kind: 'file', content: 'version 1' });
    // Again: the name record says it is made; nothing is copied over it.
    backend.plant(`${root}/restored/data.txt`, { kind: 'file', content: 'written by a pod' });
    await createVolume(createReq('restored', { volume_content_source: content }));
    expect(backend.entries.get(`${root}/restored/data.txt`)).toEqual({
      kind: 'file',
      content: 'written by a pod',
    });
  });

  it('an unknown snapshot is NOT_FOUND, a capacity below its size OUT_OF_RANGE; nothing is made', async () => {
    const missing = { snapshot: { snapshot_id: 'non-existing-snapshot-id' } };
    await expectStatus(
      createVolume(createReq('from-missing', { volume_content_source: missing })),
      status.NOT_FOUND,
      '"non-existing-snapshot-id" does not exist',
    );
    const source = await volumeWith('big-src', 'x'.repeat(4096));
    const id = (await snap('big', source)).snapshot?.snapshot_id ?? '';
    await expectStatus(
      createVolume(createReq('too-small', { volume_content_source: { snapshot: { snapshot_id: id } } })),
      status.OUT_OF_RANGE,
      'less than snapshot',
    );
    expect(backend.entries.has(`${root}/from-missing`)).toBe(false);
    expect(backend.entries.has(`${root}/too-small`)).toBe(false);
  });
});
