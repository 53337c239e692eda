// Names Warren writes into Kubernetes objects and onto shares. Changing one breaks upgrades.

export const defaultProvisionerName = 'nfs.warren.dev';
export const defaultSubDirTemplate = '${pvc.metadata.namespace}-${pvc.metadata.name}-${pv.metadata.name}';
/** Directory at a share root where Warren keeps records it needs (the record index of directory-backend.ts). Templates cannot reach it. */
export const reservedDirName = '.warren';
export const archivePrefix = 'archived-';

/** On claims (while provisioning) and on Warren's PVs: the directory must be handled before the object goes. */
export const directoryFinalizer = 'warren.dev/directory';
/** On a claim: JSON VolumeIntent recorded before the directory is created. */
export const intentAnnotation = 'warren.dev/intent';
/** On PVs: the onDelete policy recorded at creation. */
export const onDeleteAnnotation = 'warren.dev/on-delete';
export const provisionedByAnnotation = 'pv.kubernetes.io/provisioned-by';
export const storageProvisionerAnnotation = 'volume.kubernetes.io/storage-provisioner';
export const betaStorageProvisionerAnnotation = 'volume.beta.kubernetes.io/storage-provisioner';
export const selectedNodeAnnotation = 'volume.kubernetes.io/selected-node';

/** Keys of a CSI volume_context / PV volumeAttributes. */
export const attributeKeys = {
  server: 'server',
  share: 'share',
  subDir: 'subDir',
  onDelete: 'onDelete',
} as const;
