// The apiserver goes away under a running controller and comes back: the controller's
// informers restart by themselves and it provisions again, without being restarted.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, inject, it } from 'vitest';
import { restartDaemon } from '../../hack/bed/bed.ts';
import { type ControllerProcess, metricValue, startController } from '../../hack/bed/controller.ts';
import { poll } from '../../hack/lib/poll.ts';
import { createClaim, createClass, provisionerFor, waitBound } from '../integration/fixtures.ts';
import { bedClients, freshNamespace } from '../integration/kube.ts';

const { core, storage } = bedClients();
const bed = inject('bed');
const provisioner = provisionerFor('restart');
let controller: ControllerProcess | undefined;

afterAll(async () => {
  await controller?.stop();
});

it('recovers from an apiserver restart without being restarted itself', async () => {
  const ns = await freshNamespace(core, 'restart');
  const className = `restart-${Date.now().toString(36)}`;
  await createClass(storage, className, {
    provisioner,
    parameters: {
      server: bed.WARREN_NFS_SERVER,
      share: bed.WARREN_NFS_SHARE,
      subDir: 'restart/${pvc.metadata.name}',
    },
  });
  controller = await startController({
    bed,
    provisioner,
    logFile: join(mkdtempSync(join(tmpdir(), 'warren-restart-')), 'controller.log'),
  });
  await createClaim(core, ns, 'before', className);
  await waitBound(core, ns, 'before');

  await restartDaemon(inject('bedStateDir'), 'kube-apiserver', 3_000);
  await poll(
    () => core.listNamespace(),
    () => true,
    { what: 'the apiserver to answer again', timeoutMs: 90_000 },
  );
  await createClaim(core, ns, 'after', className);
  await waitBound(core, ns, 'after', 90_000);

  expect(controller.child.exitCode).toBeNull();
  expect(await metricValue(controller.metricsUrl, 'warren_informer_restarts_total')).toBeGreaterThan(0);
  expect(await metricValue(controller.metricsUrl, 'warren_provision_total', { result: 'success' })).toBe(2);
});
