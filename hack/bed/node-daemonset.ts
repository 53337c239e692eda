// Warren's node DaemonSet from deploy/, as the node guest runs it: the rendered objects it needs
// (Namespace, the node ServiceAccount, the DaemonSet), unchanged. The DaemonSet has one container,
// which registers with kubelet and answers its livenessProbe itself.

type Obj = Record<string, unknown> & { kind?: string; metadata?: { name?: string } };

/** Pure: from the rendered deploy/ objects, what the node guest applies (Namespace, SA, DaemonSet). */
export function guestNodeObjects(rendered: Obj[]): Obj[] {
  const keep = rendered.filter(
    (o) =>
      o.kind === 'Namespace' ||
      (o.kind === 'ServiceAccount' && o.metadata?.name === 'warren-node') ||
      o.kind === 'DaemonSet',
  );
  if (!keep.some((o) => o.kind === 'DaemonSet')) throw new Error('deploy/ renders no DaemonSet');
  return keep;
}
