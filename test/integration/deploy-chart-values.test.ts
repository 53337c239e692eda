// The chart's values with the real helm: values.schema.json refuses a typo'd or wrongly typed value
// with helm's own message before anything renders, and the optional objects (the metrics Service,
// ServiceMonitor, PodMonitor, the PodDisruptionBudget) appear exactly when asked for.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VersionApi } from '@kubernetes/client-node';
import { execa } from 'execa';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { applyAll, chartDir, ensureTool, helmTemplate, type Manifest } from './deploy-render.ts';
import { bedKubeConfig } from './kube.ts';

const kc = bedKubeConfig();
let kubeVersion: string;

beforeAll(async () => {
  kubeVersion = (await kc.makeApiClient(VersionApi).getCode()).gitVersion;
  // The dry-runs below are namespaced. A field manager of this file's own, so that another test's
  // apply of the same Namespace (with its labels) is left as it is.
  const namespace: Manifest = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'warren' } };
  expect(
    await applyAll(kc, [namespace], { dryRun: false, fieldManager: 'warren-chart-values-test' }),
  ).toEqual([]);
}, 600_000);

const share = '  - { name: main, server: nfs.example.com, path: /export, mountPath: /exports/main }';
const render = (values: string) =>
  helmTemplate({ release: 'warren', namespace: 'warren', kubeVersion, values: `${values}\n` });
/** What helm printed when it refused to render, or a failure if it rendered. */
const refusal = async (values: string): Promise<string> => {
  try {
    await render(values);
  } catch (err) {
    return (err as { stderr?: string }).stderr ?? String(err);
  }
  throw new Error(`helm rendered values it should refuse:\n${values}`);
};
const schemaHeader =
  "values don't meet the specifications of the schema(s) in the following chart(s):\nwarren:";

describe('values.schema.json', () => {
  it.each([
    ['the defaults', ''],
    [
      'the README example',
      [
        'shares:',
        share,
        'storageClasses:',
        '  - { name: nfs, reclaimPolicy: Delete, parameters: { server: nfs.example.com, share: /export } }',
      ].join('\n'),
    ],
    [
      'every option set',
      [
        'driverName: nfs.example.org',
        'image: { repository: registry.example.org/warren, tag: "1.0", pullPolicy: Always }',
        'imagePullSecrets: [{ name: registry }]',
        'shares:',
        share,
        'storageClasses:',
        '  - name: nfs',
        '    isDefault: true',
        '    reclaimPolicy: Retain',
        '    volumeBindingMode: WaitForFirstConsumer',
        '    mountOptions: [nfsvers=4.1]',
        '    parameters: { Server: nfs.example.com, SHARE: /export, subDir: x, onDelete: archive, mode: "0770", uid: 1000, gid: 2000 }',
        'controller:',
        '  replicas: 3',
        '  resources: { requests: { cpu: 0.1, memory: 64Mi } }',
        '  podDisruptionBudget: { enabled: true, maxUnavailable: "50%" }',
        'monitoring:',
        '  service: { enabled: true, type: ClusterIP, annotations: { a: b } }',
        '  serviceMonitor: { enabled: true, namespace: monitoring, labels: { release: prom }, interval: 1m30s, scrapeTimeout: 10s }',
        'node: { kubeletDir: /var/lib/k0s/kubelet, healthPort: 29808, logLevel: debug }',
      ].join('\n'),
    ],
  ])('accepts %s', async (_name, values) => {
    const objects = await render(values);
    expect(objects.map((o) => o.kind)).toContain('Deployment');
  });

  // What helm says after the header, for each mistake: the value's place and the rule it breaks.
  it.each([
    [
      'a typo in a share',
      'shares:\n  - { name: main, sever: nfs.example.com, server: nfs.example.com, path: /export, mountPath: /exports/main }',
      ["- at '/shares/0': additional properties 'sever' not allowed"],
    ],
    [
      'sever for server',
      'shares:\n  - { name: main, sever: nfs.example.com, path: /export, mountPath: /exports/main }',
      [
        "- at '/shares/0': missing property 'server'",
        "- at '/shares/0': additional properties 'sever' not allowed",
      ],
    ],
    [
      'replicas as a word',
      'controller: { replicas: two }',
      ["- at '/controller/replicas': got string, want integer"],
    ],
    [
      'a share without path',
      'shares:\n  - { name: main, server: nfs.example.com, mountPath: /exports/main }',
      ["- at '/shares/0': missing property 'path'"],
    ],
    ['a typo at the top', 'storageClass: []', ["- at '': additional properties 'storageClass' not allowed"]],
    [
      'the sidecars of earlier versions',
      'sidecars: { livenessProbe: { image: registry.example.org/livenessprobe:v2 } }',
      ["- at '': additional properties 'sidecars' not allowed"],
    ],
    ['no share', 'shares: []', ["- at '/shares': minItems: got 0, want 1"]],
    [
      'an unknown StorageClass parameter',
      'storageClasses:\n  - { name: nfs, parameters: { sever: nfs.example.com, share: /export } }',
      ["- at '/storageClasses/0/parameters': additional properties 'sever' not allowed"],
    ],
    [
      'a relative path',
      'shares:\n  - { name: main, server: nfs.example.com, path: export, mountPath: /exports/main }',
      ["- at '/shares/0/path': 'export' does not match pattern '^/'"],
    ],
    [
      'an unknown log level',
      'controller: { logLevel: verbose }',
      ["- at '/controller/logLevel': value must be one of 'debug', 'info', 'warn', 'error'"],
    ],
    ['an unquoted numeric tag', 'image: { tag: 1.0 }', ["- at '/image/tag': got number, want string"]],
    [
      'a budget that is neither a count nor a percentage',
      'controller: { podDisruptionBudget: { maxUnavailable: one } }',
      [
        "- at '/controller/podDisruptionBudget/maxUnavailable': 'anyOf' failed",
        "- at '/controller/podDisruptionBudget/maxUnavailable': got string, want integer",
        "- at '/controller/podDisruptionBudget/maxUnavailable': 'one' does not match pattern '^[0-9]+%$'",
      ],
    ],
    [
      'a typo in a monitor',
      'monitoring: { serviceMonitor: { enabled: true, intervall: 30s } }',
      ["- at '/monitoring/serviceMonitor': additional properties 'intervall' not allowed"],
    ],
    [
      'several mistakes at once, each named',
      'controller: { replicas: two }\nimage: { tag: 1.0 }',
      ["- at '/controller/replicas': got string, want integer", "- at '/image/tag': got number, want string"],
    ],
  ])('refuses %s', async (_name, values, expected) => {
    const message = await refusal(values);
    expect(message).toContain(schemaHeader);
    // helm lists its findings in no fixed order, grouped under "validation failed" only sometimes.
    const findings = message
      .split('\n')
      .filter((line) => /^\s*- at /.test(line) && !line.endsWith(': validation failed'))
      .map((line) => line.trim());
    expect(findings.sort()).toEqual([...(expected as string[])].sort());
  });

  it('refuses a typo in `helm install` too, before anything reaches the cluster', async () => {
    const helm = await ensureTool('helm');
    const home = mkdtempSync(join(tmpdir(), 'warren-helm-'));
    try {
      const result = await execa(
        helm,
        [
          'install',
          'warren-typo',
          chartDir,
          '--namespace',
          'default',
          '--set',
          'shares[0].sever=nfs.example.com',
        ],
        {
          reject: false,
          env: {
            KUBECONFIG: inject('bed').KUBECONFIG,
            HELM_CACHE_HOME: home,
            HELM_CONFIG_HOME: home,
            HELM_DATA_HOME: home,
          },
        },
      );
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain(schemaHeader);
      // No release was recorded (helm keeps releases in Secrets of the release namespace).
      const list = await execa(helm, ['list', '--namespace', 'default', '--all', '--short'], {
        env: {
          KUBECONFIG: inject('bed').KUBECONFIG,
          HELM_CACHE_HOME: home,
          HELM_CONFIG_HOME: home,
          HELM_DATA_HOME: home,
        },
      });
      expect(list.stdout).not.toContain('warren-typo');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('optional objects', () => {
  const kinds = (objects: Manifest[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
  const optional = ['PodDisruptionBudget', 'PodMonitor', 'Service', 'ServiceMonitor'];
  const only = (objects: Manifest[]) => kinds(objects.filter((o) => optional.includes(o.kind)));

  it.each([
    ['by default: the budget only', '', ['PodDisruptionBudget/warren-controller']],
    ['no budget when disabled', 'controller: { podDisruptionBudget: { enabled: false } }', []],
    [
      'the metrics Service alone',
      'monitoring: { service: { enabled: true } }',
      ['PodDisruptionBudget/warren-controller', 'Service/warren-controller-metrics'],
    ],
    [
      'a ServiceMonitor brings its Service',
      'monitoring: { serviceMonitor: { enabled: true } }',
      [
        'PodDisruptionBudget/warren-controller',
        'Service/warren-controller-metrics',
        'ServiceMonitor/warren-controller',
      ],
    ],
    [
      'a PodMonitor needs no Service',
      'monitoring: { podMonitor: { enabled: true } }',
      ['PodDisruptionBudget/warren-controller', 'PodMonitor/warren-controller'],
    ],
  ])('renders %s', async (_name, values, expected) => {
    expect(only(await render(values))).toEqual(expected);
  });

  it('refuses a ServiceMonitor and a PodMonitor together (every replica would be scraped twice)', async () => {
    const message = await refusal(
      'monitoring: { serviceMonitor: { enabled: true }, podMonitor: { enabled: true } }',
    );
    expect(message).toContain('monitoring: enable serviceMonitor or podMonitor, not both');
  });

  it("points the monitors at the controller pods' metrics port, in the release namespace", async () => {
    const objects = await render(
      [
        'controller: { metricsPort: 9090 }',
        'monitoring:',
        '  serviceMonitor: { enabled: true, namespace: monitoring, labels: { release: prom }, interval: 15s, scrapeTimeout: 10s }',
      ].join('\n'),
    );
    const labels = {
      'app.kubernetes.io/name': 'warren',
      'app.kubernetes.io/instance': 'warren',
      'app.kubernetes.io/component': 'controller',
    };
    const service = objects.find((o) => o.kind === 'Service');
    expect(service?.spec).toEqual({
      type: 'ClusterIP',
      selector: labels,
      ports: [{ name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'TCP' }],
    });
    expect(service?.metadata.labels).toMatchObject(labels);
    const monitor = objects.find((o) => o.kind === 'ServiceMonitor');
    expect(monitor?.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(monitor?.metadata.namespace).toBe('monitoring');
    expect(monitor?.metadata.labels).toMatchObject({ release: 'prom' });
    expect(monitor?.spec).toEqual({
      namespaceSelector: { matchNames: ['warren'] },
      selector: { matchLabels: labels },
      endpoints: [{ port: 'metrics', path: '/metrics', interval: '15s', scrapeTimeout: '10s' }],
    });
    // The Service and the budget are core objects: the bed's apiserver checks them.
    const core = objects.filter((o) => o.kind === 'Service' || o.kind === 'PodDisruptionBudget');
    expect(await applyAll(kc, core, { dryRun: true })).toEqual([]);

    const pod = await render('monitoring: { podMonitor: { enabled: true, interval: 1m } }');
    expect(pod.find((o) => o.kind === 'PodMonitor')?.spec).toEqual({
      namespaceSelector: { matchNames: ['warren'] },
      selector: { matchLabels: labels },
      podMetricsEndpoints: [{ port: 'metrics', path: '/metrics', interval: '1m' }],
    });
    // The pods name that port: a monitor selecting them by port name finds it.
    const deployment = pod.find((o) => o.kind === 'Deployment') as Manifest & {
      spec: { template: { spec: { containers: Array<{ ports: unknown }> } } };
    };
    expect(deployment.spec.template.spec.containers[0]?.ports).toEqual([
      { name: 'metrics', containerPort: 8080 },
    ]);
  });
});
