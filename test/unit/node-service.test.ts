// NodePublishVolume/NodeUnpublishVolume on the in-memory mounter: idempotency, conflicts, read-only,
// stale mounts, servers that do not answer, and the unmount fallback.
import { describe, expect, it } from 'vitest';
import { unavailable, WarrenError } from '../../src/errors.ts';
import type { MounterCall } from '../fakes/memory-mounter.ts';
import { expectWarrenRejection } from './expect-warren-error.ts';
import { ctx, nodeOnFakes, publishRequest, source, target, volumeId } from './node-fixtures.ts';

const ops = (calls: MounterCall[]) =>
  calls
    .filter((c) => c.op !== 'health')
    .map((c) => (c.op === 'unmount' ? `umount:${c.mode}` : c.op === 'killed' ? `killed:${c.command}` : c.op));
const unpublish = { volume_id: volumeId, target_path: target };

describe('NodePublishVolume', () => {
  it('creates the target with mode 0750 and mounts the source from the volume context', async () => {
    const { service, mounter, fs } = nodeOnFakes();
    await expect(service.NodePublishVolume(publishRequest(), ctx)).resolves.toEqual({});
    expect(fs.calls).toEqual([{ op: 'makeDirectory', path: target, mode: 0o750 }]);
    expect(mounter.calls).toEqual([
      { op: 'mount', source, target, fsType: 'nfs', options: [], timeoutMs: 15_000 },
    ]);
  });

  it('is idempotent: the same source again is OK without a second mount', async () => {
    const { service, mounter } = nodeOnFakes();
    await service.NodePublishVolume(publishRequest(), ctx);
    await expect(service.NodePublishVolume(publishRequest(), ctx)).resolves.toEqual({});
    expect(ops(mounter.calls)).toEqual(['mount']);
    expect(mounter.entries()).toHaveLength(1);
  });

  it('treats a normalised target path as the same target', async () => {
    const { service, mounter } = nodeOnFakes();
    await service.NodePublishVolume(publishRequest(), ctx);
    await service.NodePublishVolume(
      { ...publishRequest(), target_path: `${target.replace('/pods/', '//pods/')}/` },
      ctx,
    );
    expect(ops(mounter.calls)).toEqual(['mount']);
  });

  it('answers AlreadyExists when another source is mounted at the target', async () => {
    const { service, mounter } = nodeOnFakes();
    mounter.addMount('other.example.com:/export/x', target);
    await expectWarrenRejection(
      service.NodePublishVolume(publishRequest(), ctx),
      'AlreadyExists',
      'other.example.com:/export/x',
    );
    expect(ops(mounter.calls)).toEqual([]);
  });

  it('answers AlreadyExists when something other than NFS is mounted at the target', async () => {
    const { service, mounter } = nodeOnFakes();
    mounter.addMount(source, target, { fsType: 'tmpfs' });
    await expectWarrenRejection(service.NodePublishVolume(publishRequest(), ctx), 'AlreadyExists', 'tmpfs');
  });

  it('answers AlreadyExists when the same source is mounted with another NFS version', async () => {
    const { service, mounter } = nodeOnFakes();
    mounter.addMount(source, target, { version: '3' });
    const request = publishRequest();
    request.volume_capability!.mount!.mount_flags = ['vers=4.1'];
    await expectWarrenRejection(
      service.NodePublishVolume(request, ctx),
      'AlreadyExists',
      'mounted with NFS vers=3; this request wants vers=4.1',
    );
    expect(ops(mounter.calls)).toEqual([]);
  });

  it('is idempotent across how a version is written: nfsvers=4 is served by a vers=4.2 mount', async () => {
    const { service, mounter } = nodeOnFakes();
    mounter.addMount(source, target, { version: '4.2' });
    const request = publishRequest();
    request.volume_capability!.mount!.mount_flags = ['nfsvers=4', 'hard'];
    await expect(service.NodePublishVolume(request, ctx)).resolves.toEqual({});
    expect(ops(mounter.calls)).toEqual([]);
  });

  it('answers AlreadyExists when the same source is mounted with other ro-ness', async () => {
    const { service, mounter } = nodeOnFakes();
    mounter.addMount(source, target);
    const request = { ...publishRequest(), readonly: true };
    await expectWarrenRejection(
      service.NodePublishVolume(request, ctx),
      'AlreadyExists',
      'read-write',
      'read-only',
    );
  });

  it('accepts a kernel spelling of the same source (host case, trailing slash)', async () => {
    const { service, mounter } = nodeOnFakes();
    mounter.addMount('NFS.example.com:/export//ns-a/data/', target);
    await expect(service.NodePublishVolume(publishRequest(), ctx)).resolves.toEqual({});
    expect(ops(mounter.calls)).toEqual([]);
  });

  it.each([
    ['readonly', { readonly: true }, ['nfsvers=4.1', 'hard', 'ro']],
    ['a reader-only access mode', { mode: 'SINGLE_NODE_READER_ONLY' }, ['nfsvers=4.1', 'hard', 'ro']],
    ['readonly with ro already among the flags', { readonly: true, flags: ['ro', 'hard'] }, ['ro', 'hard']],
    ['no read-only request', {}, ['nfsvers=4.1', 'hard']],
  ])(
    'mounts with %s as %j',
    async (_name, how: { readonly?: boolean; mode?: string; flags?: string[] }, options) => {
      const { service, mounter } = nodeOnFakes();
      const request = publishRequest();
      request.readonly = how.readonly ?? false;
      request.volume_capability!.mount!.mount_flags = how.flags ?? ['nfsvers=4.1', 'hard'];
      if (how.mode) request.volume_capability!.access_mode = { mode: how.mode as 'UNKNOWN' };
      await service.NodePublishVolume(request, ctx);
      expect(mounter.calls[0]).toMatchObject({ op: 'mount', options });
      expect(mounter.entries()[0]?.mountOptions.includes('ro')).toBe(options.includes('ro'));
    },
  );

  it.each([
    ['a location volume id without context', { volume_id: volumeId, volume_context: {} }, source, 'nfs'],
    [
      'an inline volume',
      {
        volume_id: 'csi-5b7c0e2f9a',
        volume_context: {
          'csi.storage.k8s.io/ephemeral': 'true',
          server: '10.0.0.5',
          share: '/srv/nfs',
          subDir: 'scratch',
        },
      },
      '10.0.0.5:/srv/nfs/scratch',
      'nfs',
    ],
    [
      'a bare IPv6 server',
      { volume_id: 'static-v6', volume_context: { server: 'fd00::1', share: '/export', subDir: 'a' } },
      '[fd00::1]:/export/a',
      'nfs',
    ],
    [
      'the share root',
      { volume_id: 'static-pv', volume_context: { server: 'srv', share: '/export/' } },
      'srv:/export',
      'nfs',
    ],
    [
      'a share that is /',
      { volume_id: 'static', volume_context: { server: 'srv', share: '/', subDir: 'x/y' } },
      'srv:/x/y',
      'nfs',
    ],
    ['fs_type nfs4', { fsType: 'nfs4' }, source, 'nfs4'],
  ])('mounts %s', async (_name, change: Record<string, unknown>, expectedSource, fsType) => {
    const { service, mounter } = nodeOnFakes();
    const request = { ...publishRequest(), ...change };
    if (change.fsType) request.volume_capability!.mount!.fs_type = change.fsType as string;
    await service.NodePublishVolume(request, ctx);
    expect(mounter.calls[0]).toMatchObject({ op: 'mount', source: expectedSource, fsType });
  });

  it('remounts a stale mount: unmount, then mount again', async () => {
    const { service, mounter } = nodeOnFakes();
    mounter.addMount(source, target);
    mounter.stale(target);
    await expect(service.NodePublishVolume(publishRequest(), ctx)).resolves.toEqual({});
    expect(ops(mounter.calls)).toEqual(['umount:plain', 'mount']);
    expect(mounter.entries()).toHaveLength(1);
  });

  it('leaves a published mount whose server does not answer alone: Unavailable, nothing unmounted', async () => {
    const { service, mounter } = nodeOnFakes();
    mounter.addMount(source, target);
    mounter.hangingServer('nfs.example.com');
    await expectWarrenRejection(
      service.NodePublishVolume(publishRequest(), ctx),
      'Unavailable',
      'does not answer',
      'retry',
    );
    expect(ops(mounter.calls)).toEqual(['killed:stat']); // the health check, bounded; no umount, no mount
    expect(mounter.entries()).toHaveLength(1);
  });

  it('leaves a mount that answers with an error other than ESTALE alone: Unavailable, nothing unmounted', async () => {
    const { service, mounter } = nodeOnFakes();
    mounter.addMount(source, target);
    mounter.health = async () => ({
      usable: false,
      timedOut: false,
      stale: false,
      message: 'stat failed (exit 1: Input/output error)',
    });
    await expectWarrenRejection(
      service.NodePublishVolume(publishRequest(), ctx),
      'Unavailable',
      'it does not work',
      'Input/output error',
    );
    expect(ops(mounter.calls)).toEqual([]);
    expect(mounter.entries()).toHaveLength(1);
  });

  it('gives up on a server that does not answer: Unavailable, the mount killed, nothing left behind', async () => {
    const { service, mounter, fs, clock } = nodeOnFakes();
    const started = clock.t;
    mounter.hangingServer('nfs.example.com');
    await expectWarrenRejection(
      service.NodePublishVolume(publishRequest(), ctx),
      'Unavailable',
      'did not answer',
    );
    expect(ops(mounter.calls)).toEqual(['mount', 'killed:mount']);
    expect(mounter.entries()).toEqual([]);
    expect(fs.directories.has(target)).toBe(false);
    expect(clock.t - started).toBe(15_000);
  });

  it('removes a mount the kernel completed just as the timed-out mount was killed', async () => {
    const { service, mounter, fs, clock } = nodeOnFakes();
    const started = clock.t;
    mounter.hangingServer('nfs.example.com', { mountCompletesAnyway: true });
    await expectWarrenRejection(service.NodePublishVolume(publishRequest(), ctx), 'Unavailable');
    expect(ops(mounter.calls)).toEqual([
      'mount',
      'killed:mount',
      'umount:plain',
      'killed:umount',
      'umount:force',
      'umount:lazy',
    ]);
    expect(mounter.entries()).toEqual([]);
    expect(fs.directories.has(target)).toBe(false);
    expect(clock.t - started).toBeLessThan(30_000 + 15_000);
  });

  it('passes a failed mount on and removes the directory it created', async () => {
    const { service, mounter, fs } = nodeOnFakes();
    mounter.failNextMount(new WarrenError('Internal', 'mounting failed (exit 32: access denied by server)'));
    await expectWarrenRejection(
      service.NodePublishVolume(publishRequest(), ctx),
      'Internal',
      'access denied',
    );
    expect(fs.calls.map((c) => c.op)).toEqual(['makeDirectory', 'removeDirectory']);
  });

  it('keeps a target directory that was there before a failed mount', async () => {
    const { service, mounter, fs } = nodeOnFakes();
    fs.directories.add(target);
    mounter.failNextMount(unavailable('no route to host'));
    await expectWarrenRejection(service.NodePublishVolume(publishRequest(), ctx), 'Unavailable');
    expect(fs.calls).toEqual([]);
    expect(fs.directories.has(target)).toBe(true);
  });

  it('refuses a target that exists and is not a directory', async () => {
    const { service, mounter, fs } = nodeOnFakes();
    fs.others.add(target);
    await expectWarrenRejection(
      service.NodePublishVolume(publishRequest(), ctx),
      'FailedPrecondition',
      'not a directory',
    );
    expect(ops(mounter.calls)).toEqual([]);
  });
});

describe('NodeUnpublishVolume', () => {
  it('is OK when nothing is mounted, removing a leftover target directory', async () => {
    const { service, mounter, fs } = nodeOnFakes();
    fs.directories.add(target);
    await expect(service.NodeUnpublishVolume(unpublish, ctx)).resolves.toEqual({});
    expect(ops(mounter.calls)).toEqual([]);
    expect(fs.directories.has(target)).toBe(false);
    await expect(service.NodeUnpublishVolume(unpublish, ctx)).resolves.toEqual({});
  });

  it('unmounts with a plain umount when the server answers, then removes the directory', async () => {
    const { service, mounter, fs } = nodeOnFakes();
    await service.NodePublishVolume(publishRequest(), ctx);
    await service.NodeUnpublishVolume(unpublish, ctx);
    expect(ops(mounter.calls)).toEqual(['mount', 'umount:plain']);
    expect(mounter.entries()).toEqual([]);
    expect(fs.directories.has(target)).toBe(false);
  });

  it('falls back to umount -f, then umount -l, when the server is frozen, within 30 s', async () => {
    const { service, mounter, fs, clock } = nodeOnFakes();
    await service.NodePublishVolume(publishRequest(), ctx);
    mounter.hangingServer('nfs.example.com');
    const started = clock.t;
    await expect(service.NodeUnpublishVolume(unpublish, ctx)).resolves.toEqual({});
    expect(ops(mounter.calls).slice(1)).toEqual([
      'umount:plain',
      'killed:umount',
      'umount:force',
      'umount:lazy',
    ]);
    expect(mounter.entries()).toEqual([]);
    expect(fs.directories.has(target)).toBe(false);
    expect(clock.t - started).toBeLessThan(30_000);
  });

  it('stops at umount -f when that detaches the mount', async () => {
    const { service, mounter } = nodeOnFakes();
    mounter.addMount(source, target);
    mounter.hangingServer('nfs.example.com', { forceUnmountWorks: true });
    await service.NodeUnpublishVolume(unpublish, ctx);
    expect(ops(mounter.calls)).toEqual(['umount:plain', 'killed:umount', 'umount:force']);
  });

  it('removes mounts stacked on the target', async () => {
    const { service, mounter } = nodeOnFakes();
    mounter.addMount(source, target);
    mounter.addMount(source, target);
    await service.NodeUnpublishVolume(unpublish, ctx);
    expect(ops(mounter.calls)).toEqual(['umount:plain', 'umount:plain']);
    expect(mounter.entries()).toEqual([]);
  });

  it('answers Unavailable and keeps the directory when no umount removes the mount', async () => {
    const { service, mounter, fs } = nodeOnFakes();
    mounter.addMount(source, target);
    fs.directories.add(target);
    mounter.unmount = async (_target, mode) => ({
      mode,
      succeeded: false,
      timedOut: false,
      detail: 'exit 16: busy',
    });
    await expectWarrenRejection(
      service.NodeUnpublishVolume(unpublish, ctx),
      'Unavailable',
      'could not unmount',
      'lazy',
    );
    expect(fs.directories.has(target)).toBe(true);
  });

  it('refuses to unmount something that is not NFS', async () => {
    const { service, mounter } = nodeOnFakes();
    mounter.addMount('overlay', target, { fsType: 'overlay' });
    await expectWarrenRejection(service.NodeUnpublishVolume(unpublish, ctx), 'FailedPrecondition', 'overlay');
    expect(ops(mounter.calls)).toEqual([]);
  });

  it('leaves a target directory that is not empty after unmounting', async () => {
    const { service, fs } = nodeOnFakes();
    fs.directories.add(target);
    fs.nonEmpty.add(target);
    await expectWarrenRejection(service.NodeUnpublishVolume(unpublish, ctx), 'FailedPrecondition');
  });
});
