// Names the claim watcher writes into and reads from Kubernetes objects. Changing one breaks upgrades.

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
/** On a claim: the binder's mark that its binding is complete (it then only checks the pair). */
export const bindCompletedAnnotation = 'pv.kubernetes.io/bind-completed';
