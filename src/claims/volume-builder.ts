// Pure: the PersistentVolume Warren creates for a claim.
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { writeVolumeAttributes } from '../provisioning/volume-attributes.ts';
import type { VolumeIntent } from '../provisioning/volume-intent.ts';
import { pvNameFor } from './claim-plan.ts';
import { directoryFinalizer, onDeleteAnnotation, provisionedByAnnotation } from './object-names.ts';

export function buildVolume(input: {
  claim: V1PersistentVolumeClaim;
  storageClass: V1StorageClass;
  provisioner: string;
  intent: VolumeIntent;
}): V1PersistentVolume {
  const { claim, storageClass, provisioner, intent } = input;
  const storage = claim.spec?.resources?.requests?.storage ?? '0';
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: {
      name: pvNameFor(claim),
      annotations: { [provisionedByAnnotation]: provisioner, [onDeleteAnnotation]: intent.onDelete },
      finalizers: [directoryFinalizer],
    },
    spec: {
      capacity: { storage },
      accessModes: claim.spec?.accessModes ?? ['ReadWriteMany'],
      persistentVolumeReclaimPolicy: storageClass.reclaimPolicy ?? 'Delete',
      storageClassName: storageClass.metadata?.name ?? '',
      mountOptions: storageClass.mountOptions,
      volumeMode: 'Filesystem',
      claimRef: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        namespace: claim.metadata?.namespace,
        name: claim.metadata?.name,
        uid: claim.metadata?.uid,
      },
      csi: {
        driver: provisioner,
        volumeHandle: intent.volumeId,
        volumeAttributes: writeVolumeAttributes(intent.location, intent.onDelete),
      },
    },
  };
}
