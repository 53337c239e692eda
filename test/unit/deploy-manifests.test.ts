// Facts that must agree across deploy/, the Helm chart and the code: the driver name (CSIDriver,
// flags, socket paths), the image version, the node plugin's own registration and health port. A mismatch deploys cleanly and then
// fails on the first mount, so it is checked here, by reading the files.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Container, V1CSIDriver, V1PodTemplateSpec, V1StorageClass } from '@kubernetes/client-node';
import { load, loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { deployedNodeOptions } from '../../hack/bench/image-env.ts';
import { defaultProvisionerName } from '../../src/provisioning/names.ts';
import { knownKeys } from '../../src/provisioning/parameters.ts';

const root = join(import.meta.dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const first = <T>(path: string) => (loadAll(read(path)) as T[])[0] as T;
const must = <T>(value: T | undefined, what: string): T => {
  if (value === undefined) throw new Error(`missing: ${what}`);
  return value;
};

interface Workload {
  spec: { template: V1PodTemplateSpec };
}
interface ChartValues {
  driverName: string;
  shares: Array<{ name: string; server: string; path: string; mountPath: string }>;
  node: { healthPort: number; nodeOptions: string; resources: unknown };
  controller: { nodeOptions: string; resources: unknown };
}

const pkg = JSON.parse(read('package.json')) as { version: string };
const driver = first<V1CSIDriver>('deploy/csidriver.yaml');
const controller = first<Workload>('deploy/controller-deployment.yaml').spec.template.spec;
const node = first<Workload>('deploy/node-daemonset.yaml').spec.template.spec;
const container = (pod: typeof node, name: string): V1Container =>
  must(
    pod?.containers.find((c) => c.name === name),
    `container ${name}`,
  );
const plugin = container(node, 'plugin');
const controllerContainer = container(controller, 'controller');
const values = load(read('deploy/helm/warren/values.yaml')) as ChartValues;
const chart = load(read('deploy/helm/warren/Chart.yaml')) as { version: string; appVersion: string };
const deployment = first<Workload & { spec: { selector: unknown } }>('deploy/controller-deployment.yaml');
const pdb = first<{ spec: { maxUnavailable: number; selector: unknown } }>('deploy/controller-pdb.yaml');
const schema = JSON.parse(read('deploy/helm/warren/values.schema.json'));

describe('deploy/ agrees with itself and with the code', () => {
  it('names the driver the same everywhere', () => {
    const name = defaultProvisionerName;
    expect(driver.metadata?.name).toBe(name);
    expect(controllerContainer.args).toContain(`--provisioner=${name}`);
    expect(plugin.args).toContain(`--driver-name=${name}`);
    expect(plugin.args).toContain(`--kubelet-registration-path=/var/lib/kubelet/plugins/${name}/csi.sock`);
    const pluginDir = node?.volumes?.find((v) => v.name === 'plugin-dir');
    expect(pluginDir?.hostPath?.path).toBe(`/var/lib/kubelet/plugins/${name}`);
    expect(values.driverName).toBe(name);
    for (const file of ['default', 'teams-archive', 'nfs-v3', 'nfs-v41'])
      expect(first<V1StorageClass>(`deploy/examples/storageclass-${file}.yaml`).provisioner).toBe(name);
  });

  it('is one container that registers with kubelet and answers its own livenessProbe', () => {
    expect(node?.containers.map((c) => c.name)).toEqual(['plugin']);
    expect(plugin.args).toContain('--endpoint=unix:///csi/csi.sock');
    expect(plugin.args).toContain('--registration-dir=/registration');
    expect(plugin.volumeMounts).toEqual([
      { name: 'plugin-dir', mountPath: '/csi' },
      { name: 'pods-dir', mountPath: '/var/lib/kubelet/pods', mountPropagation: 'Bidirectional' },
      { name: 'registration-dir', mountPath: '/registration' },
    ]);
    expect(node?.volumes?.find((v) => v.name === 'registration-dir')?.hostPath?.path).toBe(
      '/var/lib/kubelet/plugins_registry',
    );
    // The probe's port is the one --health-address serves, on the node's localhost (host network).
    expect(plugin.args).toContain(`--health-address=localhost:${values.node.healthPort}`);
    const healthz = { host: 'localhost', path: '/healthz', port: values.node.healthPort };
    expect(plugin.livenessProbe?.httpGet).toEqual(healthz);
    // Liveness only once the plugin has started (up to 5 minutes), so a slow start is not a restart.
    expect(plugin.startupProbe).toEqual({
      httpGet: healthz,
      periodSeconds: 5,
      timeoutSeconds: 5,
      failureThreshold: 60,
    });
    expect(node?.hostNetwork).toBe(true);
    expect(plugin.securityContext?.privileged).toBe(true);
  });

  it('uses the package version for the image and the chart', () => {
    const image = `ghcr.io/warren-dev/warren:${pkg.version}`;
    expect(controllerContainer.image).toBe(image);
    expect(plugin.image).toBe(image);
    expect(chart.appVersion).toBe(pkg.version);
    expect(chart.version).toBe(pkg.version);
  });

  it('passes the share the controller pod mounts', () => {
    const volume = must(
      controller?.volumes?.find((v) => v.nfs),
      'an nfs volume',
    );
    const mount = must(
      controllerContainer.volumeMounts?.find((m) => m.name === volume.name),
      'its mount',
    );
    expect(controllerContainer.args).toContain(
      `--share=${volume.nfs?.server}:${volume.nfs?.path}=${mount.mountPath}`,
    );
    expect(values.shares).toEqual([
      { name: 'main', server: volume.nfs?.server, path: volume.nfs?.path, mountPath: mount.mountPath },
    ]);
  });

  it('gives each container the same Node options and resources in deploy/ and the chart, which the bench runs with', () => {
    const env = (c: V1Container) => c.env?.find((e) => e.name === 'NODE_OPTIONS')?.value;
    expect(env(plugin)).toBe(values.node.nodeOptions);
    expect(env(controllerContainer)).toBe(values.controller.nodeOptions);
    expect(deployedNodeOptions(root, 'node')).toBe(values.node.nodeOptions);
    expect(deployedNodeOptions(root, 'controller')).toBe(values.controller.nodeOptions);
    expect(values.node.nodeOptions).toContain('--max-semi-space-size=');
    for (const [template, key] of [
      ['node-daemonset', 'node'],
      ['controller-deployment', 'controller'],
    ])
      expect(read(`deploy/helm/warren/templates/${template}.yaml`)).toContain(
        `{{- with .Values.${key}.nodeOptions }}`,
      );
    expect(plugin.resources).toEqual(values.node.resources);
    expect(controllerContainer.resources).toEqual(values.controller.resources);
  });

  it("keeps at most one controller replica away, selecting the Deployment's pods", () => {
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: deployment.spec.selector });
  });

  it("lets the chart's values schema accept exactly the StorageClass parameters the code knows, in any case", () => {
    const parameters = schema.properties.storageClasses.items.properties.parameters;
    expect(parameters.additionalProperties).toBe(false);
    const patterns = Object.keys(parameters.patternProperties);
    expect(patterns).toHaveLength(1);
    const pattern = new RegExp(patterns[0] as string);
    for (const key of knownKeys) {
      expect(pattern.test(key), key).toBe(true);
      expect(pattern.test(key.toUpperCase()), key).toBe(true);
      expect(pattern.test(key.toLowerCase()), key).toBe(true);
    }
    for (const typo of ['sever', 'shares', 'subdirs', 'on_delete', 'uid ', '', 'mountOptions'])
      expect(pattern.test(typo), typo).toBe(false);
    // Built from the same list: a key added to the code and not to the schema fails here.
    const letters = (key: string) => [...key].map((c) => `[${c.toLowerCase()}${c.toUpperCase()}]`).join('');
    expect(pattern.source).toBe(`^(${knownKeys.map(letters).join('|')})$`);
  });
});
