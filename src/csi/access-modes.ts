// The CSI access modes Warren accepts (every mode of the spec but UNKNOWN): an NFS directory
// can be shared by any number of readers and writers on any number of nodes.
export const accessModes = [
  'SINGLE_NODE_WRITER',
  'SINGLE_NODE_READER_ONLY',
  'MULTI_NODE_READER_ONLY',
  'MULTI_NODE_SINGLE_WRITER',
  'MULTI_NODE_MULTI_WRITER',
  'SINGLE_NODE_SINGLE_WRITER',
  'SINGLE_NODE_MULTI_WRITER',
] as const;

export type AccessMode = (typeof accessModes)[number];

export function knownAccessMode(mode: unknown): AccessMode | undefined {
  return accessModes.find((known) => known === mode);
}
