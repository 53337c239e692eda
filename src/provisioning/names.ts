// Names Warren gives by default and writes onto shares. Changing one breaks upgrades.

export const defaultProvisionerName = 'nfs.warren.dev';
export const defaultSubDirTemplate = '${pvc.metadata.namespace}-${pvc.metadata.name}-${pv.metadata.name}';
/** Directory at a share root where Warren keeps records it needs (the record index of directory-backend.ts). Templates cannot reach it. */
export const reservedDirName = '.warren';
export const archivePrefix = 'archived-';
