// Renders deploy/ with the real kustomize and helm (built by hack/tools.sh) and applies the objects to
// the bed's apiserver, for the deploy-*.test.ts files.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import {
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
} from '@kubernetes/client-node';
import { execa } from 'execa';
import { loadAll } from 'js-yaml';
import { apiMessage, httpCode } from '../../src/claims/cluster-writes.ts';

export const repoRoot = join(import.meta.dirname, '..', '..');
export const deployDir = join(repoRoot, 'deploy');
export const chartDir = join(deployDir, 'helm', 'warren');

export interface Manifest extends KubernetesObject {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/**
 * Builds `tool` once (cached by hack/tools.sh) and returns its path. The flock serialises test files
 * that ask at the same time: two concurrent first builds would remove each other's directory.
 */
export async function ensureTool(tool: 'kustomize' | 'helm'): Promise<string> {
  const script = join(repoRoot, 'hack', 'tools.sh');
  const lock = join(tmpdir(), `warren-tools-${tool}.lock`);
  await execa('flock', [lock, 'bash', script, tool], { stdio: ['ignore', 'inherit', 'inherit'] });
  const { stdout } = await execa('bash', [script, 'paths']);
  const key = `${tool.toUpperCase()}_BIN=`;
  const path = stdout
    .split('\n')
    .find((line) => line.startsWith(key))
    ?.slice(key.length);
  if (!path) throw new Error(`hack/tools.sh paths printed no ${key}:\n${stdout}`);
  return path;
}

export function parseManifests(text: string): Manifest[] {
  return (loadAll(text) as unknown[]).filter((doc): doc is Manifest => doc !== null && doc !== undefined);
}

export async function kustomizeBuild(dir: string): Promise<Manifest[]> {
  const kustomize = await ensureTool('kustomize');
  const { stdout } = await execa(kustomize, ['build', dir]);
  return parseManifests(stdout);
}

/**
 * kustomize build of an overlay over `base` written to a temporary directory (kustomize wants the
 * base as a relative path), e.g. to move the base into a test namespace with a unique name suffix.
 */
export async function kustomizeOverlay(
  base: string,
  overlay: { namespace?: string; nameSuffix?: string },
): Promise<Manifest[]> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-overlay-'));
  const lines = ['apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization'];
  if (overlay.namespace) lines.push(`namespace: ${overlay.namespace}`);
  if (overlay.nameSuffix) lines.push(`nameSuffix: ${overlay.nameSuffix}`);
  lines.push('resources:', `  - ${relative(dir, base)}`, '');
  writeFileSync(join(dir, 'kustomization.yaml'), lines.join('\n'));
  try {
    return await kustomizeBuild(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function helmTemplate(opts: {
  release: string;
  namespace: string;
  /** The cluster's version, for the chart's kubeVersion check (helm assumes its own otherwise). */
  kubeVersion?: string;
  values?: string;
}): Promise<Manifest[]> {
  const helm = await ensureTool('helm');
  // helm's cache and config go here rather than into $HOME, with the values file.
  const home = mkdtempSync(join(tmpdir(), 'warren-helm-'));
  const args = ['template', opts.release, chartDir, '--namespace', opts.namespace];
  if (opts.kubeVersion) args.push('--kube-version', opts.kubeVersion);
  if (opts.values !== undefined) {
    writeFileSync(join(home, 'values.yaml'), opts.values);
    args.push('--values', join(home, 'values.yaml'));
  }
  try {
    const { stdout } = await execa(helm, args, {
      env: { HELM_CACHE_HOME: home, HELM_CONFIG_HOME: home, HELM_DATA_HOME: home },
    });
    return parseManifests(stdout);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

export const objectKey = (o: Manifest) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export interface ApplyFailure {
  object: string;
  code: number | undefined;
  message: string;
}

/**
 * Server-side apply of every object (dryRun: 'All' persists nothing but runs defaulting, validation
 * and admission). Returns every failure rather than stopping at the first, so one run shows them all.
 */
export async function applyAll(
  kc: KubeConfig,
  objects: Manifest[],
  opts: { dryRun: boolean; fieldManager?: string },
): Promise<ApplyFailure[]> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const failures: ApplyFailure[] = [];
  for (const object of objects) {
    try {
      await api.patch(
        object,
        undefined,
        opts.dryRun ? 'All' : undefined,
        opts.fieldManager ?? 'warren-deploy-test',
        true,
        PatchStrategy.ServerSideApply,
      );
    } catch (err) {
      failures.push({ object: objectKey(object), code: httpCode(err), message: apiMessage(err) });
    }
  }
  return failures;
}
