// Leader election on a coordination.k8s.io Lease, with optimistic concurrency through
// resourceVersion: whoever updates the Lease first owns it until it stops renewing.
import { type CoordinationV1Api, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import type { Logger } from 'pino';

export interface LeaseConfig {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export type LeaseDecision =
  | { action: 'acquire' | 'renew'; transitions: number }
  | { action: 'wait'; holder: string };

/** Pure: may `identity` take or keep the lease as it stands at `now`? */
export function decideLease(
  lease: V1Lease | undefined,
  identity: string,
  now: Date,
  durationMs: number,
): LeaseDecision {
  const spec = lease?.spec;
  const transitions = spec?.leaseTransitions ?? 0;
  if (!spec?.holderIdentity) return { action: 'acquire', transitions: transitions + (lease ? 1 : 0) };
  if (spec.holderIdentity === identity) return { action: 'renew', transitions };
  const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
  const duration = spec.leaseDurationSeconds ? spec.leaseDurationSeconds * 1000 : durationMs;
  if (now.getTime() - renewed > duration) return { action: 'acquire', transitions: transitions + 1 };
  return { action: 'wait', holder: spec.holderIdentity };
}

export interface Leadership {
  isLeader(): boolean;
  stop(): Promise<void>;
}

/**
 * Campaigns until stopped. onStarted runs when this process becomes leader; onLost when it
 * fails to renew within renewDeadline (the caller should stop work at once: another replica
 * may already be leading).
 */
export function runLeaderElection(opts: {
  api: CoordinationV1Api;
  config: LeaseConfig;
  log: Logger;
  onStarted: () => void;
  onLost: () => void;
}): Leadership {
  const { api, config, log } = opts;
  let leader = false;
  let stopped = false;
  let lastRenew = 0;
  let timer: NodeJS.Timeout | undefined;

  async function tryOnce(): Promise<void> {
    // Lease times are MicroTime: the apiserver rejects the 3-digit fractions of a plain Date.
    const now = new V1MicroTime();
    let lease: V1Lease | undefined;
    try {
      lease = await api.readNamespacedLease({ name: config.name, namespace: config.namespace });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
    }
    const decision = decideLease(lease, config.identity, now, config.leaseDurationMs);
    if (decision.action === 'wait') return;
    const spec = {
      holderIdentity: config.identity,
      leaseDurationSeconds: Math.ceil(config.leaseDurationMs / 1000),
      renewTime: now,
      acquireTime:
        decision.action === 'acquire' || !lease?.spec?.acquireTime
          ? now
          : new V1MicroTime(lease.spec.acquireTime),
      leaseTransitions: decision.transitions,
    };
    if (!lease) {
      await api.createNamespacedLease({
        namespace: config.namespace,
        body: { metadata: { name: config.name }, spec },
      });
    } else {
      await api.replaceNamespacedLease({
        name: config.name,
        namespace: config.namespace,
        body: { metadata: { ...lease.metadata, name: config.name }, spec },
      });
    }
    lastRenew = Date.now();
    if (!leader) {
      leader = true;
      log.info({ lease: `${config.namespace}/${config.name}`, identity: config.identity }, 'became leader');
      opts.onStarted();
    }
  }

  async function loop(): Promise<void> {
    if (stopped) return;
    try {
      await tryOnce();
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'lease update failed');
    }
    if (leader && Date.now() - lastRenew > config.renewDeadlineMs) {
      leader = false;
      log.error(
        { lease: `${config.namespace}/${config.name}` },
        'lost leadership (could not renew the lease in time)',
      );
      opts.onLost();
    }
    if (!stopped) timer = setTimeout(loop, config.retryPeriodMs);
  }

  void loop();
  return {
    isLeader: () => leader,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (leader) {
        // Hand over at once: an empty holder lets a standby acquire without waiting out the lease.
        try {
          const lease = await api.readNamespacedLease({ name: config.name, namespace: config.namespace });
          if (lease.spec?.holderIdentity === config.identity) {
            await api.replaceNamespacedLease({
              name: config.name,
              namespace: config.namespace,
              body: {
                ...lease,
                spec: {
                  ...lease.spec,
                  holderIdentity: undefined,
                  acquireTime: lease.spec.acquireTime && new V1MicroTime(lease.spec.acquireTime),
                  renewTime: lease.spec.renewTime && new V1MicroTime(lease.spec.renewTime),
                },
              },
            });
          }
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'could not release the lease');
        }
        leader = false;
      }
    },
  };
}
