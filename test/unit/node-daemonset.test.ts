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
  it("keeps the Namespace, the node ServiceAccount and deploy/'s DaemonSet as it is", () => {
    const objects = guestNodeObjects(rendered);
    expect(objects.map((o) => `${o.kind}/${(o.metadata as { name: string }).name}`)).toEqual([
      'Namespace/warren',
      'ServiceAccount/warren-node',
      'DaemonSet/warren-node',
    ]);
    expect(objects[2]).toBe(rendered.find((o) => o.kind === 'DaemonSet'));
  });

  it('refuses a render without a DaemonSet', () => {
    expect(() => guestNodeObjects([{ kind: 'Namespace', metadata: { name: 'warren' } }])).toThrow(
      'deploy/ renders no DaemonSet',
    );
  });
});
