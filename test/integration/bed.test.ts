// Proof that the bed is real: kube-controller-manager binds claims, the snapshot-controller binds
// snapshots, ganesha serves files.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { execa } from 'execa';
import { describe, expect, inject, it } from 'vitest';
import { nfsServerOf } from '../../hack/bed/bed.ts';
import { nfsUrl } from '../../hack/bed/nfs-server.ts';
import { poll } from '../../hack/lib/poll.ts';
import { bedClients, freshNamespace } from './kube.ts';

describe('control plane', () => {
  it('serves the VolumeSnapshot API: the snapshot-controller binds a VolumeSnapshot to a pre-provisioned content', async () => {
    const { kc, core } = bedClients();
    const custom = kc.makeApiClient(CustomObjectsApi);
    const ns = await freshNamespace(core, 'bed-snap');
    const group = 'snapshot.storage.k8s.io';
    const version = 'v1';
    const contentName = `bed-content-${ns}`;
    await custom.createClusterCustomObject({
      group,
      version,
      plural: 'volumesnapshotcontents',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'VolumeSnapshotContent',
        metadata: { name: contentName },
        spec: {
          driver: 'bed.example.com',
          deletionPolicy: 'Retain',
          source: { snapshotHandle: 'bed-handle' },
          volumeSnapshotRef: { namespace: ns, name: 'snap' },
        },
      },
    });
    await custom.createNamespacedCustomObject({
      group,
      version,
      namespace: ns,
      plural: 'volumesnapshots',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'VolumeSnapshot',
        metadata: { name: 'snap' },
        spec: { source: { volumeSnapshotContentName: contentName } },
      },
    });
    const bound = await poll(
      () =>
        custom.getNamespacedCustomObject({
          group,
          version,
          namespace: ns,
          plural: 'volumesnapshots',
          name: 'snap',
        }),
      (s: { status?: { boundVolumeSnapshotContentName?: string } }) =>
        Boolean(s.status?.boundVolumeSnapshotContentName),
      { what: 'the snapshot-controller to bind the VolumeSnapshot' },
    );
    expect(bound.status?.boundVolumeSnapshotContentName).toBe(contentName);
  });

  it('is the Kubernetes version it was built as', async () => {
    const { kc } = bedClients();
    const { VersionApi } = await import('@kubernetes/client-node');
    const version = await kc.makeApiClient(VersionApi).getCode();
    expect({ major: version.major, minor: version.minor, gitVersion: version.gitVersion }).toEqual({
      major: '1',
      minor: '34',
      gitVersion: 'v1.34.4',
    });
  });

  it('binds a claim to a pre-bound volume and releases the volume when the claim goes', async () => {
    const { core } = bedClients();
    const ns = await freshNamespace(core, 'bed');
    const pvName = `bed-pv-${ns}`;
    const claim = await core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: {
        metadata: { name: 'claim' },
        spec: {
          accessModes: ['ReadWriteMany'],
          storageClassName: '',
          resources: { requests: { storage: '1Gi' } },
        },
      },
    });
    await core.createPersistentVolume({
      body: {
        metadata: { name: pvName },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteMany'],
          persistentVolumeReclaimPolicy: 'Retain',
          storageClassName: '',
          claimRef: { namespace: ns, name: 'claim', uid: claim.metadata?.uid },
          nfs: { server: '127.0.0.1', path: '/export/bed' },
        },
      },
    });

    const boundClaim = await poll(
      () => core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'claim' }),
      (c) => c.status?.phase === 'Bound',
      { what: 'the claim to be Bound' },
    );
    expect(boundClaim.spec?.volumeName).toBe(pvName);
    const boundPv = await poll(
      () => core.readPersistentVolume({ name: pvName }),
      (v) => v.status?.phase === 'Bound',
      { what: 'the PV to be Bound' },
    );
    expect(boundPv.spec?.claimRef?.uid).toBe(claim.metadata?.uid);

    await core.deleteNamespacedPersistentVolumeClaim({ namespace: ns, name: 'claim' });
    const released = await poll(
      () => core.readPersistentVolume({ name: pvName }),
      (v) => v.status?.phase === 'Released',
      { what: 'the PV to be Released' },
    );
    expect(released.spec?.claimRef?.uid).toBe(claim.metadata?.uid);
    await core.deletePersistentVolume({ name: pvName });
  });
});

describe('NFS server', () => {
  it.each([3, 4] as const)(
    'serves a directory and file created in the export dir over NFS v%i',
    async (version) => {
      const bed = inject('bed');
      const server = nfsServerOf(bed);
      const dir = `seen-v${version}-${Date.now()}`;
      await mkdir(join(bed.WARREN_EXPORT_DIR, dir));
      await writeFile(join(bed.WARREN_EXPORT_DIR, dir, 'note.txt'), `written on the host for v${version}\n`);

      const listing = await execa('nfs-ls', [nfsUrl(server, version)]);
      expect(listing.stdout).toMatch(new RegExp(`^d.* ${dir}$`, 'm'));
      const inner = await execa('nfs-ls', [nfsUrl(server, version, `/${dir}`)]);
      expect(inner.stdout).toMatch(/ note\.txt$/m);
      const content = await execa('nfs-cat', [nfsUrl(server, version, `/${dir}/note.txt`)]);
      expect(content.stdout).toBe(`written on the host for v${version}`);
    },
  );
});
