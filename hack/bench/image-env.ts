// NODE_OPTIONS as deploy/ gives it to each container, so that the bench runs the controller and
// the node plugin with the same Node options as the cluster does.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Container, V1PodTemplateSpec } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';

const manifests = { controller: 'deploy/controller-deployment.yaml', node: 'deploy/node-daemonset.yaml' };
const containers = { controller: 'controller', node: 'plugin' };

/** Pure: the NODE_OPTIONS value of container `name` in a workload manifest's text ('' when unset). */
export function nodeOptionsIn(yamlText: string, name: string): string {
  const workload = (loadAll(yamlText) as Array<{ spec?: { template?: V1PodTemplateSpec } }>)[0];
  const container: V1Container | undefined = workload?.spec?.template?.spec?.containers.find(
    (c) => c.name === name,
  );
  if (!container) throw new Error(`no container ${name} in the manifest`);
  return container.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
}

/** NODE_OPTIONS of `warren controller` or `warren node` in deploy/. */
export function deployedNodeOptions(repoRoot: string, command: 'controller' | 'node'): string {
  return nodeOptionsIn(readFileSync(join(repoRoot, manifests[command]), 'utf8'), containers[command]);
}
