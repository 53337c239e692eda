// The API paths of the objects the controller reads and writes.
const seg = encodeURIComponent;

export const claimsPath = '/api/v1/persistentvolumeclaims';
export const volumesPath = '/api/v1/persistentvolumes';
export const storageClassesPath = '/apis/storage.k8s.io/v1/storageclasses';
export const apiGroupsPath = '/apis';

export const claimPath = (namespace: string, name: string) =>
  `/api/v1/namespaces/${seg(namespace)}/persistentvolumeclaims/${seg(name)}`;
export const volumePath = (name: string) => `${volumesPath}/${seg(name)}`;
export const eventsPath = (namespace: string) => `/api/v1/namespaces/${seg(namespace)}/events`;
export const eventPath = (namespace: string, name: string) => `${eventsPath(namespace)}/${seg(name)}`;
export const leasesPath = (namespace: string) =>
  `/apis/coordination.k8s.io/v1/namespaces/${seg(namespace)}/leases`;
export const leasePath = (namespace: string, name: string) => `${leasesPath(namespace)}/${seg(name)}`;
/** The status subresource of an object's path. */
export const statusOf = (path: string) => `${path}/status`;
