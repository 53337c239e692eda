// NodeGetVolumeStats, NodeGetInfo and NodeGetCapabilities on the in-memory fakes.
import { describe, expect, it } from 'vitest';
import { unavailable, WarrenError } from '../../src/errors.ts';
import type { VolumeMeasurement } from '../../src/node/volume-walk.ts';
import { expectWarrenRejection } from './expect-warren-error.ts';
import { ctx, nodeOnFakes, source, target, volumeId } from './node-fixtures.ts';

const request = { volume_id: volumeId, volume_path: target, staging_target_path: '' };
const measurement: VolumeMeasurement = {
  totalBytes: 100n << 30n,
  availableBytes: 40n << 30n,
  usedBytes: 123_456n,
  totalInodes: 6_553_600n,
  freeInodes: 6_000_000n,
  usedInodes: 42n,
  complete: true,
};

function mountedVolume(overrides: { statsCacheTtlMs?: number } = {}) {
  const node = nodeOnFakes(overrides);
  node.mounter.addMount(source, target);
  node.fs.setMeasurement(target, measurement);
  return node;
}

describe('NodeGetVolumeStats', () => {
  it('reports file system capacity and the volume tree usage in bytes and inodes', async () => {
    const { service, fs } = mountedVolume();
    expect(await service.NodeGetVolumeStats(request, ctx)).toEqual({
      usage: [
        { unit: 'BYTES', total: '107374182400', available: '42949672960', used: '123456' },
        { unit: 'INODES', total: '6553600', available: '6000000', used: '42' },
      ],
      volume_condition: { abnormal: false, message: 'mounted; the NFS server answers' },
    });
    expect(fs.calls).toEqual([{ op: 'measure', path: target, budgetMs: 4_000 }]);
  });

  it('reuses a measurement for the cache lifetime, then measures again', async () => {
    const { service, fs, clock } = mountedVolume({ statsCacheTtlMs: 30_000 });
    await service.NodeGetVolumeStats(request, ctx);
    clock.t += 29_000;
    await service.NodeGetVolumeStats(request, ctx);
    expect(fs.calls).toHaveLength(1);
    clock.t += 2_000;
    await service.NodeGetVolumeStats(request, ctx);
    expect(fs.calls).toHaveLength(2);
  });

  it('says when the count is a lower bound', async () => {
    const { service, fs } = mountedVolume();
    fs.setMeasurement(target, { ...measurement, complete: false });
    const response = await service.NodeGetVolumeStats(request, ctx);
    expect(response.volume_condition).toEqual({
      abnormal: false,
      message: expect.stringContaining('lower bound'),
    });
  });

  it('caps values beyond int64', async () => {
    const { service, fs } = mountedVolume();
    fs.setMeasurement(target, { ...measurement, totalBytes: 1n << 70n });
    const response = await service.NodeGetVolumeStats(request, ctx);
    expect(response.usage?.[0]?.total).toBe('9223372036854775807');
  });

  it('answers NotFound for a path where nothing is mounted', async () => {
    const { service } = nodeOnFakes();
    await expectWarrenRejection(service.NodeGetVolumeStats(request, ctx), 'NotFound', 'is not a mount point');
  });

  it('answers NotFound for a path with a mount that is not NFS', async () => {
    const { service, mounter } = nodeOnFakes();
    mounter.addMount('tmpfs', target, { fsType: 'tmpfs' });
    await expectWarrenRejection(service.NodeGetVolumeStats(request, ctx), 'NotFound', 'tmpfs');
  });

  it('answers NotFound when the id names another location than the one mounted', async () => {
    const { service } = mountedVolume();
    const other = { ...request, volume_id: '1#d#nfs.example.com#/export#ns-b/other' };
    await expectWarrenRejection(service.NodeGetVolumeStats(other, ctx), 'NotFound', 'not published there');
  });

  it('accepts ids that do not name a location (digest, inline)', async () => {
    const { service } = mountedVolume();
    for (const id of [`2#d#${'B'.repeat(32)}`, 'csi-5b7c0e2f9a']) {
      await expect(service.NodeGetVolumeStats({ ...request, volume_id: id }, ctx)).resolves.toMatchObject({
        volume_condition: { abnormal: false },
      });
    }
  });

  it('reports an abnormal condition, without measuring, when the server does not answer', async () => {
    const { service, mounter, fs, clock } = mountedVolume();
    mounter.hangingServer('nfs.example.com');
    const started = clock.t;
    const response = await service.NodeGetVolumeStats(request, ctx);
    expect(response).toEqual({
      usage: [],
      volume_condition: { abnormal: true, message: expect.stringContaining('did not answer') },
    });
    expect(fs.calls).toEqual([]);
    expect(clock.t - started).toBe(3_000);
  });

  it('reports a stale mount as abnormal', async () => {
    const { service, mounter } = mountedVolume();
    mounter.stale(target);
    const response = await service.NodeGetVolumeStats(request, ctx);
    expect(response.volume_condition).toEqual({
      abnormal: true,
      message: expect.stringContaining('Stale file handle'),
    });
  });

  it('answers UNAVAILABLE for a measurement that did not finish while the volume answers, and does not cache it', async () => {
    const { service, fs, mounter } = mountedVolume();
    fs.setMeasurement(target, unavailable('measuring did not finish within 7 s'));
    await expectWarrenRejection(
      service.NodeGetVolumeStats(request, ctx),
      'Unavailable',
      `measuring did not finish within 7 s; the volume at "${target}" answers, ask again later`,
    );
    // Asked twice: before measuring, and again to tell a slow measurement from a dead server.
    expect(mounter.calls.filter((c) => c.op === 'health')).toHaveLength(2);
    fs.setMeasurement(target, measurement);
    await expect(service.NodeGetVolumeStats(request, ctx)).resolves.toMatchObject({
      volume_condition: { abnormal: false },
    });
  });

  it('reports abnormal when the volume stopped answering while it was measured', async () => {
    const { service, fs, mounter } = mountedVolume();
    fs.setMeasurement(target, unavailable('measuring did not finish within 7 s'));
    const measure = fs.measure;
    fs.measure = async (path, budgetMs) => {
      mounter.stale(target);
      return measure(path, budgetMs);
    };
    const response = await service.NodeGetVolumeStats(request, ctx);
    expect(response).toEqual({
      usage: [],
      volume_condition: { abnormal: true, message: expect.stringContaining('Stale file handle') },
    });
  });

  it('passes other measuring failures on', async () => {
    const { service, fs } = mountedVolume();
    fs.setMeasurement(target, new WarrenError('Internal', 'measuring failed (exit 1)'));
    await expectWarrenRejection(service.NodeGetVolumeStats(request, ctx), 'Internal', 'exit 1');
  });
});

describe('NodeGetInfo and NodeGetCapabilities', () => {
  it('names the node with no volume limit', async () => {
    const { service } = nodeOnFakes();
    expect(await service.NodeGetInfo({}, ctx)).toEqual({ node_id: 'node-a', max_volumes_per_node: '0' });
  });

  it('advertises stats, volume condition and single-node multi-writer, and no staging or expansion', async () => {
    const { service } = nodeOnFakes();
    expect(await service.NodeGetCapabilities({}, ctx)).toEqual({
      capabilities: [
        { rpc: { type: 'GET_VOLUME_STATS' } },
        { rpc: { type: 'SINGLE_NODE_MULTI_WRITER' } },
        { rpc: { type: 'VOLUME_CONDITION' } },
      ],
    });
    expect(Object.keys(service)).not.toContain('NodeStageVolume');
    expect(Object.keys(service)).not.toContain('NodeExpandVolume');
  });
});
