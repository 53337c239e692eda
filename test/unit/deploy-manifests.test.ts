// Facts that must agree across deploy/, the Helm chart and the code: the driver name (CSIDriver,
// flags, socket paths), the image version, the sidecar versions. A mismatch deploys cleanly and then
// fails on the first mount, so it is checked here, by reading the files.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load, loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { defaultProvisionerName } from '../../src/provisioning/names.ts';

const root = join(import.meta.dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const docs = (path: string) => (loadAll(read(path)) as Array<Record<string, any>>).filter(Boolean);
const one = (path: string) => docs(path)[0] as Record<string, any>;

const pkg = JSON.parse(read('package.json')) as { version: string };
const driver = one('deploy/csidriver.yaml');
const controller = one('deploy/controller-deployment.yaml');
const node = one('deploy/node-daemonset.yaml');
const containers = (o: Record<string, any>) =>
  Object.fromEntries(
    (o.spec.template.spec.containers as Array<Record<string, any>>).map((c) => [c.name as string, c]),
  );
const values = load(read('deploy/helm/warren/values.yaml')) as Record<string, any>;
const chart = load(read('deploy/helm/warren/Chart.yaml')) as Record<string, any>;

describe('deploy/ agrees with itself and with the code', () => {
  it('names the driver the same everywhere', () => {
    const name = defaultProvisionerName;
    expect(driver.metadata.name).toBe(name);
    expect(containers(controller).controller.args).toContain(`--provisioner=${name}`);
    const { plugin, 'node-driver-registrar': registrar } = containers(node);
    expect(plugin.args).toContain(`--driver-name=${name}`);
    expect(registrar.args).toContain(`--kubelet-registration-path=/var/lib/kubelet/plugins/${name}/csi.sock`);
    const pluginDir = node.spec.template.spec.volumes.find((v: any) => v.name === 'plugin-dir');
    expect(pluginDir.hostPath.path).toBe(`/var/lib/kubelet/plugins/${name}`);
    expect(values.driverName).toBe(name);
    for (const file of ['default', 'teams-archive', 'nfs-v3', 'nfs-v41'])
      expect(one(`deploy/examples/storageclass-${file}.yaml`).provisioner).toBe(name);
  });

  it('serves the socket where the sidecars look for it', () => {
    const { plugin, 'node-driver-registrar': registrar, 'liveness-probe': probe } = containers(node);
    expect(plugin.args).toContain('--endpoint=unix:///csi/csi.sock');
    expect(registrar.args).toContain('--csi-address=/csi/csi.sock');
    expect(probe.args).toContain('--csi-address=/csi/csi.sock');
    const pods = plugin.volumeMounts.find((m: any) => m.name === 'pods-dir');
    expect(pods).toEqual({
      name: 'pods-dir',
      mountPath: '/var/lib/kubelet/pods',
      mountPropagation: 'Bidirectional',
    });
    expect(plugin.securityContext.privileged).toBe(true);
  });

  it('uses the package version for the image and the chart, and the pinned sidecar versions', () => {
    const image = `ghcr.io/warren-dev/warren:${pkg.version}`;
    expect(containers(controller).controller.image).toBe(image);
    expect(containers(node).plugin.image).toBe(image);
    expect(chart.appVersion).toBe(pkg.version);
    expect(chart.version).toBe(pkg.version);
    const { 'node-driver-registrar': registrar, 'liveness-probe': probe } = containers(node);
    expect(registrar.image).toBe('registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.17.0');
    expect(probe.image).toBe('registry.k8s.io/sig-storage/livenessprobe:v2.19.0');
    expect(values.sidecars.nodeDriverRegistrar.image).toBe(registrar.image);
    expect(values.sidecars.livenessProbe.image).toBe(probe.image);
  });

  it('passes the share the controller pod mounts', () => {
    const c = containers(controller).controller;
    const volume = controller.spec.template.spec.volumes.find((v: any) => v.nfs);
    const mount = c.volumeMounts.find((m: any) => m.name === volume.name);
    expect(c.args).toContain(`--share=${volume.nfs.server}:${volume.nfs.path}=${mount.mountPath}`);
    expect(values.shares).toEqual([
      { name: 'main', server: volume.nfs.server, path: volume.nfs.path, mountPath: mount.mountPath },
    ]);
  });
});
