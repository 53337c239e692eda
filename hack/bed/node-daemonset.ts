// Warren's node DaemonSet from deploy/, as the node guest runs it: the same pod, with kubelet
// registration done by `warren node --registration-dir` instead of the node-driver-registrar
// sidecar, and without the livenessprobe sidecar (neither image can be pulled or built here).

type Obj = Record<string, unknown> & { kind?: string; metadata?: { name?: string } };
interface Container {
  name: string;
  args?: string[];
  livenessProbe?: unknown;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}

export const sidecarNames = ['node-driver-registrar', 'liveness-probe'];

/** Pure: from the rendered deploy/ objects, what the node guest applies (Namespace, SA, DaemonSet). */
export function guestNodeObjects(rendered: Obj[], driverName: string): Obj[] {
  const keep = rendered.filter(
    (o) =>
      o.kind === 'Namespace' ||
      (o.kind === 'ServiceAccount' && o.metadata?.name === 'warren-node') ||
      o.kind === 'DaemonSet',
  );
  if (!keep.some((o) => o.kind === 'DaemonSet')) throw new Error('deploy/ renders no DaemonSet');
  return keep.map((o) => (o.kind === 'DaemonSet' ? withOwnRegistration(o, driverName) : o));
}

function withOwnRegistration(ds: Obj, driverName: string): Obj {
  const copy = structuredClone(ds) as Obj & {
    spec: { template: { spec: { containers: Container[]; volumes?: Array<{ name: string }> } } };
  };
  const pod = copy.spec.template.spec;
  if (!pod.volumes?.some((v) => v.name === 'registration-dir'))
    throw new Error('the DaemonSet has no registration-dir volume');
  pod.containers = pod.containers.filter((c) => !sidecarNames.includes(c.name));
  const plugin = pod.containers.find((c) => c.name === 'plugin');
  if (!plugin) throw new Error('the DaemonSet has no container named plugin');
  // Its probe was answered by the livenessprobe sidecar.
  delete plugin.livenessProbe;
  plugin.args = [
    ...(plugin.args ?? []),
    '--registration-dir=/registration',
    `--kubelet-registration-path=/var/lib/kubelet/plugins/${driverName}/csi.sock`,
  ];
  plugin.volumeMounts = [
    ...(plugin.volumeMounts ?? []),
    { name: 'registration-dir', mountPath: '/registration' },
  ];
  return copy;
}
