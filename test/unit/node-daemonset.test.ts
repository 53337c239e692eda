import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { guestNodeObjects } from '../../hack/bed/node-daemonset.ts';

const repoRoot = join(import.meta.dirname, '..', '..');
const files = ['namespace.yaml', 'serviceaccounts.yaml', 'csidriver.yaml', 'node-daemonset.yaml'];
const rendered = files.flatMap(
  (f) => loadAll(readFileSync(join(repoRoot, 'deploy', f), 'utf8')) as Array<Record<string, unknown>>,
);

describe('guestNodeObjects', () => {
  it('keeps the Namespace, the node ServiceAccount and the DaemonSet, registering by itself', () => {
    const objects = guestNodeObjects(rendered, 'nfs.warren.dev');
    expect(objects.map((o) => `${o.kind}/${(o.metadata as { name: string }).name}`)).toEqual([
      'Namespace/warren',
      'ServiceAccount/warren-node',
      'DaemonSet/warren-node',
    ]);
    const pod = (objects[2] as { spec: { template: { spec: Record<string, unknown> } } }).spec.template.spec;
    const containers = pod.containers as Array<Record<string, unknown>>;
    expect(containers.map((c) => c.name)).toEqual(['plugin']);
    const plugin = containers[0]!;
    expect(plugin.livenessProbe).toBeUndefined();
    expect(plugin.args).toEqual([
      'node',
      '--endpoint=unix:///csi/csi.sock',
      '--node-id=$(NODE_NAME)',
      '--driver-name=nfs.warren.dev',
      '--log-level=info',
      '--registration-dir=/registration',
      '--kubelet-registration-path=/var/lib/kubelet/plugins/nfs.warren.dev/csi.sock',
    ]);
    expect(plugin.volumeMounts).toEqual([
      { name: 'plugin-dir', mountPath: '/csi' },
      { name: 'pods-dir', mountPath: '/var/lib/kubelet/pods', mountPropagation: 'Bidirectional' },
      { name: 'registration-dir', mountPath: '/registration' },
    ]);
    // The rest of the pod is deploy/'s, unchanged.
    expect(pod.hostNetwork).toBe(true);
    expect(plugin.image).toBe('ghcr.io/warren-dev/warren:0.1.0');
  });

  it('does not change what it was given', () => {
    const before = JSON.stringify(rendered);
    guestNodeObjects(rendered, 'nfs.warren.dev');
    expect(JSON.stringify(rendered)).toBe(before);
  });

  it.each([
    [[], 'renders no DaemonSet'],
    [
      [{ kind: 'DaemonSet', spec: { template: { spec: { containers: [], volumes: [] } } } }],
      'no registration-dir volume',
    ],
    [
      [
        {
          kind: 'DaemonSet',
          spec: { template: { spec: { containers: [], volumes: [{ name: 'registration-dir' }] } } },
        },
      ],
      'no container named plugin',
    ],
  ])('refuses a render it cannot adapt (%#)', (objects, message) => {
    expect(() => guestNodeObjects(objects, 'nfs.warren.dev')).toThrow(message);
  });
});
