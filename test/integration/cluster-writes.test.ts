// The claim watcher's live reads and its PV phase write against the bed's real apiserver, where the
// fake in reconcile-fixtures.ts cannot answer for them: the phase goes through the status
// subresource, the resourceVersion it was read at guards it, and a missing object is no error.
import { describe, expect, it } from 'vitest';
import { poll } from '../../hack/lib/poll.ts';
import { makeClusterWrites } from '../../src/claims/cluster-writes.ts';
import { createClaim, provisionerFor, waitGone } from './fixtures.ts';
import { bedApi, bedClients, freshNamespace } from './kube.ts';

const { core } = bedClients();
const writes = makeClusterWrites(bedApi());
const suffix = `${process.pid}-${Date.now().toString(36)}`;

describe('makeClusterWrites on the real apiserver', () => {
  it('markVolumeReleased sets the phase Released, only on the PV as it was read, and not on a PV that is gone', async () => {
    const name = `cluster-writes-${suffix}`;
    await core.createPersistentVolume({
      body: {
        metadata: { name },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteMany'],
          persistentVolumeReclaimPolicy: 'Retain',
          csi: { driver: provisionerFor('cluster-writes'), volumeHandle: name },
        },
      },
    });
    // The binder marks a PV that names no claim Available once, then leaves it alone.
    const available = await poll(
      () => core.readPersistentVolume({ name }),
      (pv) => pv.status?.phase === 'Available',
      { what: `PV ${name} to be Available` },
    );

    const released = await writes.markVolumeReleased(available);

    expect(released?.status?.phase).toBe('Released');
    expect(released?.metadata?.name).toBe(name);
    expect(released?.metadata?.resourceVersion).not.toBe(available.metadata?.resourceVersion);
    // The read it was planned on is stale now: refused as a conflict, retried by the caller.
    await expect(writes.markVolumeReleased(available)).rejects.toMatchObject({ kind: 'Aborted' });

    await core.deletePersistentVolume({ name });
    await waitGone(() => core.readPersistentVolume({ name }), `PV ${name}`);
    expect(await writes.markVolumeReleased(available)).toBeUndefined();
  });

  it('readClaim reads the claim from the apiserver, and answers undefined once it is gone', async () => {
    const ns = await freshNamespace(core, 'cluster-writes');
    try {
      // No provisioner answers this class: the claim only waits, which is all this needs.
      const made = await createClaim(core, ns, 'data', `no-such-class-${suffix}`);
      const live = await writes.readClaim(ns, 'data');
      expect(live?.metadata?.uid).toBe(made.metadata?.uid);

      await core.deleteNamespacedPersistentVolumeClaim({ namespace: ns, name: 'data' });
      await waitGone(
        () => core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'data' }),
        'claim',
      );
      expect(await writes.readClaim(ns, 'data')).toBeUndefined();
      expect(await writes.readClaim(ns, 'never-made')).toBeUndefined();
    } finally {
      await core.deleteNamespace({ name: ns }).catch(() => undefined);
    }
  });
});
