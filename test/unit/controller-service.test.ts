// The Identity and Controller services served by a real grpc-js server on a temporary unix socket,
// over the in-memory directory backend, asserting exact status codes as csi-sanity would.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreateVolumeRequest } from '../../src/csi/generated/csi/v1/CreateVolumeRequest.ts';
import { type CsiServer, startCsiServer } from '../../src/csi/server.ts';
import { makeControllerService } from '../../src/csi-controller/controller-service.ts';
import { nameRecordKey } from '../../src/csi-controller/volume-name-records.ts';
import { failedPrecondition, unavailable } from '../../src/errors.ts';
import { makeIdentityService, type Readiness } from '../../src/node/identity-service.ts';
import { createMemoryDirectoryBackend } from '../fakes/memory-directory-backend.ts';
import { createMemoryTreeCopier } from '../fakes/memory-tree-copier.ts';
import { type CsiClients, call, csiClients, expectStatus } from './csi-grpc-client.ts';
import { captureLog } from './csi-log-capture.ts';

const root = '/exports/main';
const secondRoot = '/exports/second';
const backend = createMemoryDirectoryBackend([root, secondRoot]);
const copier = createMemoryTreeCopier(backend);
const shares = [
  { server: 'nfs.example.com', share: '/export', localDir: root },
  { server: 'nfs2.example.com', share: '/data', localDir: secondRoot },
];
const readiness: Readiness = { ready: true };
const gib = 1024 ** 3;
const capture = captureLog();

let dir: string;
let server: CsiServer;
let c: CsiClients;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warren-csi-'));
  server = await startCsiServer({
    endpoint: `unix://${dir}/plugin/csi.sock`,
    log: capture.log,
    services: {
      Identity: makeIdentityService({
        driverName: 'nfs.warren.dev',
        version: '9.9.9',
        servesController: true,
        probe: async () => readiness,
      }),
      Controller: makeControllerService({ store: { shares, backend }, now: () => new Date(0), copier }),
    },
  });
  c = csiClients(server.address);
});

afterAll(async () => {
  c.close();
  await server.stop(1000);
  await rm(dir, { recursive: true, force: true });
});

const mountCap = { mount: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' as const } };
const params = { server: 'nfs.example.com', share: '/export' };
const createReq = (name: string, extra: Partial<CreateVolumeRequest> = {}): CreateVolumeRequest => ({
  name,
  volume_capabilities: [mountCap],
  parameters: params,
  secrets: { password: 'hunter2' },
  ...extra,
});
const create = (request: CreateVolumeRequest) => call(c.controller.CreateVolume.bind(c.controller), request);
const del = (volume_id: string) => call(c.controller.DeleteVolume.bind(c.controller), { volume_id });
const validate = (volume_id: string, caps = [mountCap]) =>
  call(c.controller.ValidateVolumeCapabilities.bind(c.controller), { volume_id, volume_capabilities: caps });
const expand = (volume_id: string, required_bytes?: number) =>
  call(c.controller.ControllerExpandVolume.bind(c.controller), {
    volume_id,
    ...(required_bytes === undefined ? {} : { capacity_range: { required_bytes } }),
  });
const range = (bytes: number) => ({ required_bytes: bytes, limit_bytes: bytes });
const has = (subDir: string) => backend.entries.get(`${root}/${subDir}`)?.kind === 'dir';

describe('Identity', () => {
  it('GetPluginInfo names the driver and version', async () => {
    const info = await call(c.identity.GetPluginInfo.bind(c.identity), {});
    expect(info).toMatchObject({ name: 'nfs.warren.dev', vendor_version: '9.9.9' });
  });

  it('GetPluginCapabilities offers the controller service and online expansion, no topology', async () => {
    const caps = await call(c.identity.GetPluginCapabilities.bind(c.identity), {});
    expect(caps.capabilities).toEqual([
      { service: { type: 'CONTROLLER_SERVICE' }, type: 'service' },
      { volume_expansion: { type: 'ONLINE' }, type: 'volume_expansion' },
    ]);
  });

  it('Probe answers ready, or FAILED_PRECONDITION with the reason', async () => {
    expect(await call(c.identity.Probe.bind(c.identity), {})).toEqual({ ready: { value: true } });
    readiness.ready = false;
    readiness.message = 'mount.nfs not found';
    try {
      await expectStatus(
        call(c.identity.Probe.bind(c.identity), {}),
        status.FAILED_PRECONDITION,
        'mount.nfs not found',
      );
    } finally {
      readiness.ready = true;
    }
  });
});

describe('Controller: capabilities and unimplemented RPCs', () => {
  it('ControllerGetCapabilities lists exactly create/delete, expand, clone and snapshots', async () => {
    const caps = await call(c.controller.ControllerGetCapabilities.bind(c.controller), {});
    expect(caps.capabilities.map((cap) => cap.rpc?.type)).toEqual([
      'CREATE_DELETE_VOLUME',
      'EXPAND_VOLUME',
      'CLONE_VOLUME',
      'CREATE_DELETE_SNAPSHOT',
      'LIST_SNAPSHOTS',
    ]);
  });

  it('RPCs Warren does not implement answer UNIMPLEMENTED', async () => {
    await expectStatus(
      call(c.controller.ListVolumes.bind(c.controller), {}),
      status.UNIMPLEMENTED,
      'ListVolumes',
    );
    await expectStatus(
      call(c.controller.ControllerPublishVolume.bind(c.controller), { volume_id: 'x' }),
      status.UNIMPLEMENTED,
    );
    await expectStatus(call(c.node.NodeGetInfo.bind(c.node), {}), status.UNIMPLEMENTED);
  });
});

describe('CreateVolume', () => {
  it.each([
    ['no name', createReq(''), 'name is required'],
    ['no capabilities', createReq('v', { volume_capabilities: [] }), 'volume_capabilities is required'],
    [
      'block access',
      createReq('v', { volume_capabilities: [{ block: {}, access_mode: { mode: 1 } }] }),
      'block',
    ],
    [
      'an unknown access mode',
      createReq('v', { volume_capabilities: [{ mount: {}, access_mode: {} }] }),
      'mode',
    ],
    ['an unknown parameter', createReq('v', { parameters: { ...params, colour: 'red' } }), '"colour"'],
    [
      'limit below required',
      createReq('v', { capacity_range: { required_bytes: 2, limit_bytes: 1 } }),
      'limit_bytes',
    ],
    [
      'a content source snapshot without an id',
      createReq('v', { volume_content_source: { snapshot: { snapshot_id: '' } } }),
      'volume_content_source.snapshot.snapshot_id is required',
    ],
    [
      'a content source volume without an id',
      createReq('v', { volume_content_source: { volume: { volume_id: '' } } }),
      'volume_content_source.volume.volume_id is required',
    ],
    ['a name with a slash', createReq('a/b'), '"/"'],
  ])('refuses %s with INVALID_ARGUMENT', async (_what, request, fragment) => {
    await expectStatus(create(request), status.INVALID_ARGUMENT, fragment);
  });

  it('clones a volume: its content copied before CreateVolume answers, the source echoed', async () => {
    await create(createReq('clone-src', { capacity_range: { required_bytes: 2 * gib } }));
    backend.plant(`${root}/clone-src/data.txt`, { kind: 'file', content: 'payload' });
    const source = { volume: { volume_id: '1#d#nfs.example.com#/export#clone-src' } };
    const { volume } = await create(
      createReq('clone-dst', { capacity_range: { required_bytes: 2 * gib }, volume_content_source: source }),
    );
    expect(volume).toMatchObject({
      volume_id: '1#d#nfs.example.com#/export#clone-dst',
      content_source: { volume: { volume_id: source.volume.volume_id } },
    });
    expect(backend.entries.get(`${root}/clone-dst/data.txt`)).toStrictEqual({
      kind: 'file',
      content: 'payload',
    });
    // Idempotent: the same call again copies nothing more.
    const calls = copier.calls.length;
    await create(
      createReq('clone-dst', { capacity_range: { required_bytes: 2 * gib }, volume_content_source: source }),
    );
    expect(copier.calls.length).toBe(calls);
    // A clone smaller than its source is OUT_OF_RANGE, and nothing is made.
    await expectStatus(
      create(
        createReq('clone-small', { capacity_range: { required_bytes: gib }, volume_content_source: source }),
      ),
      status.OUT_OF_RANGE,
      'less than its source',
    );
    expect(has('clone-small')).toBe(false);
  });

  it('a clone whose copy fails leaves nothing behind', async () => {
    await create(createReq('fail-src'));
    backend.plant(`${root}/fail-src/a`, { kind: 'file', content: 'a' });
    backend.plant(`${root}/fail-src/b`, { kind: 'file', content: 'b' });
    copier.failNext(failedPrecondition('cannot write: ENOSPC; the share is full'));
    const source = { volume: { volume_id: '1#d#nfs.example.com#/export#fail-src' } };
    await expectStatus(
      create(createReq('fail-dst', { volume_content_source: source })),
      status.FAILED_PRECONDITION,
      'the partial copy was removed',
    );
    expect(has('fail-dst')).toBe(false);
  });

  it('a clone stopped by a share that cannot be reached: UNAVAILABLE with both reasons; the retry copies over it', async () => {
    await create(createReq('stuck-src'));
    backend.plant(`${root}/stuck-src/a`, { kind: 'file', content: 'a' });
    copier.failNext(unavailable('the copy on share nfs.example.com:/export stopped: no progress for 120 s'));
    backend.failNext('removeDirectory', unavailable('share nfs.example.com:/export is not answering'));
    const source = { volume: { volume_id: '1#d#nfs.example.com#/export#stuck-src' } };
    await expectStatus(
      create(createReq('stuck-dst', { volume_content_source: source })),
      status.UNAVAILABLE,
      'copying volume stuck-src failed: the copy on share nfs.example.com:/export stopped: no progress for 120 s. ' +
        'Its partial copy cannot be removed yet (share nfs.example.com:/export is not answering); a retry copies over it',
    );
    expect(has('stuck-dst')).toBe(true);
    await create(createReq('stuck-dst', { volume_content_source: source }));
    expect(backend.entries.get(`${root}/stuck-dst/a`)).toStrictEqual({ kind: 'file', content: 'a' });
  });

  it('a clone of an unknown volume is NOT_FOUND', async () => {
    const source = { volume: { volume_id: '1#d#nfs.example.com#/export#no-such-volume' } };
    await expectStatus(
      create(createReq('orphan', { volume_content_source: source })),
      status.NOT_FOUND,
      'does not exist',
    );
    expect(has('orphan')).toBe(false);
  });

  it('refuses a share no --share flag covers with FAILED_PRECONDITION', async () => {
    const other = createReq('v', { parameters: { server: 'other.example.com', share: '/x' } });
    await expectStatus(create(other), status.FAILED_PRECONDITION, 'no --share flag covers');
  });

  it('creates the directory and answers id, capacity and context', async () => {
    const { volume } = await create(createReq('vol-a', { capacity_range: { required_bytes: 5 * gib } }));
    expect(volume).toMatchObject({
      volume_id: '1#d#nfs.example.com#/export#vol-a',
      capacity_bytes: String(5 * gib),
      volume_context: { server: 'nfs.example.com', share: '/export', subDir: 'vol-a', onDelete: 'delete' },
    });
    expect(has('vol-a')).toBe(true);
  });

  it('records 1 GiB when no capacity is asked for', async () => {
    expect((await create(createReq('vol-default'))).volume?.capacity_bytes).toBe(String(gib));
  });

  it('is idempotent by name with a compatible capacity', async () => {
    const first = await create(createReq('vol-twice', { capacity_range: range(gib) }));
    const second = await create(createReq('vol-twice', { capacity_range: range(gib) }));
    expect(second.volume?.volume_id).toBe(first.volume?.volume_id);
    expect(second.volume?.capacity_bytes).toBe(String(gib));
  });

  it('answers ALREADY_EXISTS for the same name with an incompatible capacity', async () => {
    await create(createReq('vol-diff', { capacity_range: range(gib) }));
    await expectStatus(
      create(createReq('vol-diff', { capacity_range: range(2 * gib) })),
      status.ALREADY_EXISTS,
      'capacity',
    );
  });

  it('answers ALREADY_EXISTS for the same name with different parameters', async () => {
    await create(createReq('vol-params'));
    const changed = createReq('vol-params', { parameters: { ...params, mode: '0700' } });
    await expectStatus(create(changed), status.ALREADY_EXISTS, 'different parameters');
  });

  it('answers ALREADY_EXISTS for the same name on another configured share, and makes nothing there', async () => {
    const { volume } = await create(createReq('vol-moved'));
    const elsewhere = createReq('vol-moved', { parameters: { server: 'nfs2.example.com', share: '/data' } });
    await expectStatus(create(elsewhere), status.ALREADY_EXISTS, volume?.volume_id ?? 'missing id');
    expect(backend.entries.get(`${secondRoot}/vol-moved`)).toBeUndefined();
  });

  it('accepts a 128-byte name (digest volume id) and deletes it again', async () => {
    const name = `max-${'n'.repeat(124)}`;
    const { volume } = await create(createReq(name));
    expect(volume?.volume_id).toMatch(/^2#d#[A-Za-z0-9_-]{32}$/);
    expect(has(name)).toBe(true);
    await del(volume?.volume_id ?? '');
    expect(has(name)).toBe(false);
  });

  it("uses the claim from external-provisioner's metadata for the default template", async () => {
    const { volume } = await create(
      createReq('pvc-0b9c1d2e-1111-2222-3333-444455556666', {
        parameters: {
          ...params,
          'csi.storage.k8s.io/pvc/name': 'data',
          'csi.storage.k8s.io/pvc/namespace': 'shop',
          'csi.storage.k8s.io/pv/name': 'pvc-0b9c1d2e-1111-2222-3333-444455556666',
        },
      }),
    );
    expect(volume?.volume_context?.subDir).toBe('shop-data-pvc-0b9c1d2e-1111-2222-3333-444455556666');
  });

  it('answers INTERNAL when the backend fails unexpectedly', async () => {
    backend.failNext('ensureDirectory', new Error('disk on fire'));
    await expectStatus(
      create(createReq('vol-fire')),
      status.INTERNAL,
      'CreateVolume failed with an internal error',
    );
  });

  it('never logs the secrets it was sent', () => {
    expect(capture.text()).toContain('CreateVolume');
    expect(capture.text()).not.toContain('hunter2');
  });
});

describe('DeleteVolume', () => {
  it('needs a volume id', async () => {
    await expectStatus(del(''), status.INVALID_ARGUMENT, 'volume_id is required');
  });

  it.each(['reallyfakevolumeid', '1#x#a#b#c', '2#d#short', '1#d#nfs.example.com#/export#a/../b'])(
    'succeeds without doing anything for the malformed id %s',
    async (id) => {
      const before = backend.calls.length;
      expect(await del(id)).toEqual({});
      expect(backend.calls.slice(before).map((entry) => entry.op)).toEqual([]);
    },
  );

  it('removes the directory and the name records, and is idempotent', async () => {
    const { volume } = await create(createReq('vol-del'));
    const id = volume?.volume_id ?? '';
    expect(await backend.getRecord(root, nameRecordKey('vol-del'))).toBeDefined();
    await del(id);
    expect(has('vol-del')).toBe(false);
    expect(await backend.getRecord(root, nameRecordKey('vol-del'))).toBeUndefined();
    expect(await del(id)).toEqual({});
  });

  it('keeps the data when the volume says retain', async () => {
    const { volume } = await create(createReq('vol-keep', { parameters: { ...params, onDelete: 'retain' } }));
    await del(volume?.volume_id ?? '');
    expect(has('vol-keep')).toBe(true);
  });
});

describe('ValidateVolumeCapabilities', () => {
  it('needs a volume id and capabilities', async () => {
    await expectStatus(validate(''), status.INVALID_ARGUMENT, 'volume_id');
    const { volume } = await create(createReq('vol-val-caps'));
    await expectStatus(validate(volume?.volume_id ?? '', []), status.INVALID_ARGUMENT, 'volume_capabilities');
  });

  it.each(['some-vol-id', '1#d#nfs.example.com#/export#never-created'])(
    'answers NOT_FOUND for %s',
    async (id) => {
      await expectStatus(validate(id), status.NOT_FOUND, 'does not exist');
    },
  );

  it('confirms mount access and explains why block is not confirmed', async () => {
    const { volume } = await create(createReq('vol-val'));
    const id = volume?.volume_id ?? '';
    expect((await validate(id)).confirmed?.volume_capabilities).toHaveLength(1);
    const block = await validate(id, [{ block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }] as never);
    expect(block.confirmed).toBeNull();
    expect(block.message).toContain('block access is not supported');
  });
});

describe('ControllerExpandVolume', () => {
  it('needs a volume id and a capacity', async () => {
    await expectStatus(expand('', gib), status.INVALID_ARGUMENT, 'volume_id');
    await expectStatus(expand('1#d#nfs.example.com#/export#x'), status.INVALID_ARGUMENT, 'capacity_range');
  });

  it('answers NOT_FOUND for an unknown volume', async () => {
    await expectStatus(expand('no-such-volume', gib), status.NOT_FOUND);
  });

  it('records the new size, needs no node expansion, and CreateVolume then reports it', async () => {
    const { volume } = await create(createReq('vol-grow', { capacity_range: { required_bytes: gib } }));
    const grown = await expand(volume?.volume_id ?? '', 3 * gib);
    expect(grown).toEqual({ capacity_bytes: String(3 * gib), node_expansion_required: false });
    const again = await create(createReq('vol-grow', { capacity_range: { required_bytes: gib } }));
    expect(again.volume?.capacity_bytes).toBe(String(3 * gib));
    expect((await expand(volume?.volume_id ?? '', 2 * gib)).capacity_bytes).toBe(String(3 * gib));
  });
});
