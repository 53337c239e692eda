// Hostile and mistaken volume ids and PVs against a real share directory: DeleteVolume (and the
// claim watcher's release) may remove only a directory Warren created for that very volume.
// Everything else on the share (a directory Warren never made, a sibling volume, a volume's
// parent, the share root, the records, what lies outside) is left exactly as it was.
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reconcileVolume } from '../../src/claims/volume-reconciler.ts';
import type { CreateVolumeRequest__Output } from '../../src/csi/generated/csi/v1/CreateVolumeRequest.ts';
import { makeControllerService } from '../../src/csi-controller/controller-service.ts';
import { createFsDirectoryBackend } from '../../src/provisioning/fs-directory-backend.ts';
import { encodeVolumeId, locationDigest } from '../../src/provisioning/volume-id.ts';
import { harness, provisioner } from './reconcile-fixtures.ts';

const server = '127.0.0.1';
const log = pino({ level: 'silent' });
const ctx = { log };

let sandbox: string;
let share: string;
let service: ReturnType<typeof makeControllerService>;
let volumeA: string;
let volumeB: string;

async function tree(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name);
    const info = await lstat(path);
    const rel = `${prefix}${name}`;
    if (info.isDirectory()) out.push(`${rel}/`, ...(await tree(path, `${rel}/`)));
    else out.push(info.isSymbolicLink() ? `${rel} ->` : `${rel} (${(await readFile(path)).length})`);
  }
  return out;
}

const createRequest = (name: string): CreateVolumeRequest__Output =>
  ({
    name,
    capacity_range: null,
    volume_capabilities: [
      {
        mount: { fs_type: '', mount_flags: [], volume_mount_group: '' },
        access_type: 'mount',
        access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' },
      },
    ],
    parameters: { server, share: '/export', subDir: 'team/${pv.metadata.name}' },
    secrets: {},
    volume_content_source: null,
    accessibility_requirements: null,
    mutable_parameters: {},
  }) as unknown as CreateVolumeRequest__Output;

beforeEach(async () => {
  sandbox = await mkdtemp(join(tmpdir(), 'warren-crafted-'));
  share = join(sandbox, 'export');
  await mkdir(join(share, 'sentinel'), { recursive: true });
  await writeFile(join(share, 'sentinel', 'precious.txt'), "not Warren's");
  await mkdir(join(share, 'team', 'hand-made'), { recursive: true });
  await writeFile(join(share, 'team', 'hand-made', 'data'), "also not Warren's");
  await mkdir(join(share, 'archived-old-20240101000000'));
  await mkdir(join(sandbox, 'outside'));
  await writeFile(join(sandbox, 'outside', 'secret'), 'outside the share');
  await symlink(join(sandbox, 'outside'), join(share, 'link-out'));
  service = makeControllerService({
    store: { shares: [{ server, share: '/export', localDir: share }], backend: createFsDirectoryBackend() },
    now: () => new Date('2026-01-01T00:00:00Z'),
  });
  volumeA = (await service.CreateVolume(createRequest('vol-a'), ctx)).volume?.volume_id ?? '';
  volumeB = (await service.CreateVolume(createRequest('vol-b'), ctx)).volume?.volume_id ?? '';
  await writeFile(join(share, 'team', 'vol-a', 'a.txt'), 'volume a');
  await writeFile(join(share, 'team', 'vol-b', 'b.txt'), 'volume b');
});

afterEach(async () => {
  await rm(sandbox, { recursive: true, force: true });
});

const id = (subDir: string, code = 'd', shareField = '/export') =>
  `1#${code}#${server}#${shareField}#${subDir}`;

describe('DeleteVolume with a crafted id leaves everything in place', () => {
  const crafted: Array<[string, () => string]> = [
    ['a directory Warren never created', () => id('sentinel')],
    ['the same, archive', () => id('sentinel', 'a')],
    ['a hand-made directory beside the volumes', () => id('team/hand-made')],
    ["the volumes' parent", () => id('team')],
    ["the volumes' parent, archive", () => id('team', 'a')],
    ['a sibling volume under another onDelete', () => id('team/vol-b', 'a')],
    ['a volume through a share below the export', () => id('vol-a', 'd', '/export/team')],
    ['an archive of an earlier volume', () => id('archived-old-20240101000000')],
    ['a symbolic link out of the share', () => id('link-out')],
    ['below a symbolic link', () => id('link-out/secret')],
    ['the reserved record directory', () => id('.warren')],
    ['the record index', () => id('.warren/index')],
    ['the share root as "."', () => id('.')],
    ['a parent as ".."', () => id('..')],
    ['a climb out', () => id('team/../sentinel')],
    ['an empty subDir', () => id('')],
    ['a trailing slash', () => id('sentinel/')],
    ['a doubled slash', () => id('team//vol-a')],
    ['an absolute subDir', () => id('/sentinel')],
    ['a NUL', () => id('sentinel\u0000')],
    ['an escaped climb', () => id('%2e%2e')],
    ['a digest nobody recorded', () => '2#d#AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a malformed digest', () => '2#d#../../sentinel'],
    ['an unknown onDelete code', () => id('sentinel', 'x')],
    ['an unknown version', () => `3#d#${server}#/export#sentinel`],
    ['too few fields', () => `1#d#${server}#sentinel`],
    ['a foreign driver id', () => 'pvc-5e2a6a2b-0000-0000-0000-000000000000'],
    ['a volume id with the right location but the wrong onDelete', () => id('team/vol-a', 'r')],
  ];

  it.each([
    ['a share no --share flag covers', id('sentinel', 'd', '/other')],
    ['a volume named with another server spelling', `1#d#localhost#/export#team/vol-a`],
  ])(
    '%s: FAILED_PRECONDITION (Warren cannot tell the volume is gone), nothing touched',
    async (_what, volumeId) => {
      const before = await tree(sandbox);
      await expect(service.DeleteVolume({ volume_id: volumeId, secrets: {} }, ctx)).rejects.toMatchObject({
        kind: 'FailedPrecondition',
      });
      expect(await tree(sandbox)).toEqual(before);
    },
  );

  it.each(crafted)('%s', async (_what, idOf) => {
    const before = await tree(sandbox);
    await expect(service.DeleteVolume({ volume_id: idOf(), secrets: {} }, ctx)).resolves.toEqual({});
    expect(await tree(sandbox)).toEqual(before);
  });

  it('a digest id whose location record was tampered with to point at another directory', async () => {
    const records = join(share, '.warren', 'index');
    const digest = locationDigest({ server, share: '/export', subDir: 'team/vol-a-long' });
    await writeFile(
      join(records, `${digest}.json`),
      JSON.stringify({ location: { server, share: '/export', subDir: 'sentinel' } }),
    );
    const before = await tree(sandbox);
    // The record's location must hash to the id's digest: a tampered one is not even followed.
    await service.DeleteVolume({ volume_id: `2#d#${digest}`, secrets: {} }, ctx);
    expect(await tree(sandbox)).toEqual(before);
  });

  it("the volume's own id removes its directory and nothing else", async () => {
    const before = (await tree(sandbox)).filter(
      (p) => !p.startsWith('export/team/vol-a/') && !p.startsWith('export/.warren'),
    );
    await service.DeleteVolume({ volume_id: volumeA, secrets: {} }, ctx);
    const after = (await tree(sandbox)).filter((p) => !p.startsWith('export/.warren'));
    expect(after).toEqual(before);
    expect(after).toContain('export/team/vol-b/b.txt (8)');
  });

  it('a second volume racing for a taken directory is refused, and the first keeps it', async () => {
    const racing = {
      ...createRequest('vol-c'),
      parameters: { server, share: '/export', subDir: 'team/vol-a' },
    };
    await expect(service.CreateVolume(racing, ctx)).rejects.toMatchObject({ kind: 'FailedPrecondition' });
    await service.DeleteVolume({ volume_id: volumeB, secrets: {} }, ctx);
    expect(await tree(sandbox)).toContain('export/team/vol-a/a.txt (8)');
  });
});

describe('the claim watcher releases a crafted PV without touching the directory it names', () => {
  const later = new Date('2030-01-01T00:00:00Z');
  const crafted: Array<[string, string]> = [
    ['a directory Warren never created', 'sentinel'],
    ['the parent of the volumes', 'team'],
    ['a sibling volume', 'team/vol-b'],
    ['a hand-made directory', 'team/hand-made'],
  ];
  it.each(crafted)('%s, made after the ownership era began', async (_what, subDir) => {
    const location = { server, share: '/export', subDir };
    const volumeHandle = encodeVolumeId(location, 'delete');
    const h = harness({
      volumes: [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolume',
          metadata: {
            name: 'pvc-crafted',
            creationTimestamp: later,
            annotations: { 'pv.kubernetes.io/provisioned-by': provisioner, 'warren.dev/on-delete': 'delete' },
            finalizers: ['warren.dev/directory'],
          },
          spec: {
            persistentVolumeReclaimPolicy: 'Delete',
            csi: { driver: provisioner, volumeHandle, volumeAttributes: { ...location, onDelete: 'delete' } },
          },
          status: { phase: 'Released' },
        },
      ],
    });
    h.deps.store = {
      shares: [{ server, share: '/export', localDir: share }],
      backend: createFsDirectoryBackend(),
    };
    const before = (await tree(sandbox)).filter((p) => !p.startsWith('export/.warren'));
    expect(await reconcileVolume(h.deps, 'pvc-crafted')).toBe('done');
    expect((await tree(sandbox)).filter((p) => !p.startsWith('export/.warren'))).toEqual(before);
    expect(h.cluster.events.map((e) => e.reason)).toEqual(['DirectoryKept']);
  });
});
