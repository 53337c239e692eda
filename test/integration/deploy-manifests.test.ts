// Every object Warren ships is accepted by a real apiserver (1.34): the kustomize base, the example
// StorageClasses, and the Helm chart with default and non-default values, each applied server-side
// with dryRun=All (schema, defaulting, validation and admission run; nothing is stored). The chart's
// defaults must render the base's objects, field for field.
import { type V1ObjectMeta, type V1PodTemplateSpec, VersionApi } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  applyAll,
  deployDir,
  helmTemplate,
  kustomizeBuild,
  type Manifest,
  objectKey,
} from './deploy-render.ts';
import { bedKubeConfig } from './kube.ts';

const kc = bedKubeConfig();
let base: Manifest[];
let kubeVersion: string;

beforeAll(async () => {
  kubeVersion = (await kc.makeApiClient(VersionApi).getCode()).gitVersion;
  base = await kustomizeBuild(deployDir);
  // Namespaced dry-runs need their namespace to exist: apply the base's own Namespace for real.
  const namespaces = base.filter((o) => o.kind === 'Namespace');
  expect(await applyAll(kc, namespaces, { dryRun: false })).toEqual([]);
}, 600_000);

const kinds = (objects: Manifest[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();

describe('kustomize base (deploy/)', () => {
  it('has one of each object, all in the warren namespace', () => {
    expect(kinds(base)).toEqual([
      'CSIDriver/nfs.warren.dev',
      'ClusterRole/warren-controller',
      'ClusterRoleBinding/warren-controller',
      'DaemonSet/warren-node',
      'Deployment/warren-controller',
      'Namespace/warren',
      'PodDisruptionBudget/warren-controller',
      'Role/warren-controller-leader-election',
      'RoleBinding/warren-controller-leader-election',
      'ServiceAccount/warren-controller',
      'ServiceAccount/warren-node',
    ]);
    const clusterScoped = new Set(['Namespace', 'CSIDriver', 'ClusterRole', 'ClusterRoleBinding']);
    for (const o of base) expect(o.metadata.namespace).toBe(clusterScoped.has(o.kind) ? undefined : 'warren');
  });

  it('is accepted by the apiserver (server-side apply, dryRun=All)', async () => {
    expect(await applyAll(kc, base, { dryRun: true })).toEqual([]);
  });
});

describe('example StorageClasses (deploy/examples/)', () => {
  it('are accepted by the apiserver', async () => {
    const examples = await kustomizeBuild(`${deployDir}/examples`);
    expect(kinds(examples)).toEqual([
      'StorageClass/warren',
      'StorageClass/warren-nfs3',
      'StorageClass/warren-nfs41',
      'StorageClass/warren-teams',
    ]);
    expect(await applyAll(kc, examples, { dryRun: true })).toEqual([]);
  });
});

describe('Helm chart (deploy/helm/warren)', () => {
  it('renders with default values the objects of the base, field for field', async () => {
    const chart = await helmTemplate({ release: 'warren', namespace: 'warren', kubeVersion });
    const fromBase = base.filter((o) => o.kind !== 'Namespace'); // helm install --create-namespace
    expect(chart.map(objectKey).sort()).toEqual(fromBase.map(objectKey).sort());
    const byKey = new Map(fromBase.map((o) => [objectKey(o), o]));
    for (const object of chart) expect(withoutHelmLabels(object)).toEqual(byKey.get(objectKey(object)));
  });

  it('is accepted by the apiserver with default values', async () => {
    const chart = await helmTemplate({ release: 'warren', namespace: 'warren', kubeVersion });
    expect(await applyAll(kc, chart, { dryRun: true })).toEqual([]);
  });

  it('renders and is accepted with two shares, StorageClasses, another kubelet dir and driver name', async () => {
    const chart = await helmTemplate({
      release: 'storage',
      namespace: 'warren',
      kubeVersion,
      values: [
        'driverName: nfs.example.org',
        'image: { repository: registry.example.org/warren, tag: dev }',
        'shares:',
        '  - { name: main, server: nfs1.example.org, path: /export, mountPath: /exports/main }',
        '  - { name: fast, server: nfs2.example.org, path: /srv/fast, mountPath: /exports/fast }',
        'storageClasses:',
        '  - name: nfs',
        '    isDefault: true',
        '    parameters: { server: nfs1.example.org, share: /export, mode: "0770", gid: 2000 }',
        '  - name: nfs-fast-archive',
        '    reclaimPolicy: Retain',
        '    volumeBindingMode: WaitForFirstConsumer',
        '    mountOptions: [nfsvers=4.1, hard]',
        '    parameters: { server: nfs2.example.org, share: /srv/fast/teams, onDelete: archive }',
        'controller: { replicas: 3, logLevel: debug, extraArgs: [--workers=4], leaderElect: true }',
        'node: { kubeletDir: /var/lib/k0s/kubelet, healthPort: 29808 }',
        '',
      ].join('\n'),
    });
    expect(await applyAll(kc, chart, { dryRun: true })).toEqual([]);

    const find = (kind: string, name: string) =>
      chart.find((o) => o.kind === kind && o.metadata.name === name);
    expect(find('CSIDriver', 'nfs.example.org')).toBeDefined();
    const classes = chart.filter((o) => o.kind === 'StorageClass');
    expect(classes.map((c) => [c.metadata.name, c.provisioner, c.parameters])).toEqual([
      ['nfs', 'nfs.example.org', { server: 'nfs1.example.org', share: '/export', mode: '0770', gid: '2000' }],
      [
        'nfs-fast-archive',
        'nfs.example.org',
        { server: 'nfs2.example.org', share: '/srv/fast/teams', onDelete: 'archive' },
      ],
    ]);
    const controller = podTemplate(find('Deployment', 'storage-warren-controller'));
    expect(controller?.spec?.containers[0]?.args).toEqual(
      expect.arrayContaining([
        '--provisioner=nfs.example.org',
        '--share=nfs1.example.org:/export=/exports/main',
        '--share=nfs2.example.org:/srv/fast=/exports/fast',
        '--workers=4',
      ]),
    );
    const node = podTemplate(find('DaemonSet', 'storage-warren-node'));
    const plugin = node?.spec?.containers.find((c) => c.name === 'plugin');
    expect(node?.spec?.containers.map((c) => c.name)).toEqual(['plugin']);
    expect(plugin?.args).toEqual(
      expect.arrayContaining([
        '--registration-dir=/registration',
        '--kubelet-registration-path=/var/lib/k0s/kubelet/plugins/nfs.example.org/csi.sock',
        '--health-address=localhost:29808',
      ]),
    );
    expect(plugin?.livenessProbe?.httpGet?.port).toBe(29808);
    expect(plugin?.startupProbe?.httpGet?.port).toBe(29808);
    expect(node?.spec?.volumes?.find((v) => v.name === 'registration-dir')?.hostPath?.path).toBe(
      '/var/lib/k0s/kubelet/plugins_registry',
    );
  });
});

/** The chart adds two bookkeeping labels the base has no use for; everything else must be equal. */
function withoutHelmLabels(object: Manifest): Manifest {
  const copy = structuredClone(object);
  const strip = (meta: V1ObjectMeta | undefined) => {
    if (!meta?.labels) return;
    delete meta.labels['helm.sh/chart'];
    delete meta.labels['app.kubernetes.io/managed-by'];
  };
  strip(copy.metadata);
  strip(podTemplate(copy)?.metadata);
  return copy;
}

function podTemplate(object: Manifest | undefined): V1PodTemplateSpec | undefined {
  return (object?.spec as { template?: V1PodTemplateSpec } | undefined)?.template;
}
