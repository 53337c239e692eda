// Carries out a resize plan (resize-plan.ts decides): claim in progress, PV capacity, claim
// finished, each step an Event or a crash point apart; a refusal is recorded on the claim once.
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { notFound } from '../errors.ts';
import { claimName, claimRef } from './claim-plan.ts';
import type { ReconcileDeps } from './deps.ts';
import { reportFailure } from './report-failure.ts';
import type { ResizePlan } from './resize-plan.ts';
import type { Outcome } from './work-queue.ts';

export async function resize(
  deps: ReconcileDeps,
  claim: V1PersistentVolumeClaim,
  plan: Exclude<ResizePlan, { action: 'none' }>,
  log: ReconcileDeps['log'],
): Promise<Outcome> {
  const started = performance.now();
  try {
    if (plan.action === 'refuse') {
      await deps.writes.patchClaimStatus(claim, plan.status);
      await deps.events.record(claimRef(claim), 'Warning', 'VolumeResizeFailed', plan.message);
      deps.metrics.resizes.inc({ result: 'refused' });
      log.info({ pv: plan.volume, reason: plan.message }, 'resize refused');
      return 'done';
    }
    const { volume, from, to } = plan.plan;
    if (plan.plan.markInProgress) {
      await deps.events.record(
        claimRef(claim),
        'Normal',
        'Resizing',
        `resizing volume ${volume} from ${from} to ${to}`,
      );
      claim = await deps.writes.patchClaimStatus(claim, plan.plan.markInProgress);
      deps.crashPoint('after-resize-started', claimName(claim));
    }
    if (plan.plan.volumeCapacity) {
      const pv = deps.volumes.get(volume);
      if (!pv) throw notFound(`PV ${volume} of the claim is gone; cannot resize it`);
      await deps.writes.setVolumeCapacity(pv, plan.plan.volumeCapacity);
      deps.crashPoint('after-volume-capacity', claimName(claim));
    }
    if (plan.plan.shrinkRefused) {
      await deps.events.record(claimRef(claim), 'Warning', 'VolumeResizeFailed', plan.plan.shrinkRefused);
    }
    await deps.writes.patchClaimStatus(claim, plan.plan.finish);
    if (!plan.plan.shrinkRefused) {
      await deps.events.record(
        claimRef(claim),
        'Normal',
        'VolumeResizeSuccessful',
        `volume ${volume} resized from ${from} to ${to}`,
      );
    }
    deps.metrics.resizes.inc({ result: plan.plan.shrinkRefused ? 'refused' : 'success' });
    log.info({ pv: volume, from, to, seconds: (performance.now() - started) / 1000 }, 'resized');
    return 'done';
  } catch (err) {
    return reportFailure(deps, log, { step: { operation: 'resize' }, object: claimRef(claim), err });
  }
}
