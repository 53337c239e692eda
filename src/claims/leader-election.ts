// Leader election on a coordination.k8s.io Lease, with optimistic concurrency through
// resourceVersion: whoever updates the Lease first owns it until it stops renewing.
import type { V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeApi } from '../kube/api.ts';
import { leasePath, leasesPath } from '../kube/paths.ts';

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
  lease: V1Lease | LeaseBody | undefined,
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

/**
 * A Lease time as the API wants it: MicroTime, six fractional digits (the apiserver rejects the
 * three of Date.toISOString). Lease times arrive as text and go back as they came.
 */
export function microTime(at: Date): string {
  return at.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** A lease as the API holds it: its times are text (MicroTime), not the Dates of client-node's model. */
type LeaseBody = Omit<V1Lease, 'spec'> & {
  spec?: Omit<NonNullable<V1Lease['spec']>, 'renewTime' | 'acquireTime'> & {
    renewTime?: string;
    acquireTime?: string;
  };
};

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
  api: KubeApi;
  config: LeaseConfig;
  log: Logger;
  onStarted: () => void;
  onLost: () => void;
}): Leadership {
  const { api, config, log } = opts;
  let leader = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  // Armed at each renewal: it fires even while a lease request hangs (each may take up to the
  // client's request timeout), so a leader never works on past renewDeadline unrenewed.
  let deadline: NodeJS.Timeout | undefined;

  function lose(): void {
    if (!leader || stopped) return;
    leader = false;
    log.error(
      { lease: `${config.namespace}/${config.name}` },
      'lost leadership (could not renew the lease in time)',
    );
    opts.onLost();
  }

  async function tryOnce(): Promise<void> {
    const now = new Date();
    let lease: LeaseBody | undefined;
    try {
      lease = await api.get<LeaseBody>(leasePath(config.namespace, config.name));
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
    }
    const decision = decideLease(lease, config.identity, now, config.leaseDurationMs);
    if (decision.action === 'wait') return;
    const spec = {
      holderIdentity: config.identity,
      leaseDurationSeconds: Math.ceil(config.leaseDurationMs / 1000),
      renewTime: microTime(now),
      acquireTime:
        decision.action === 'acquire' || !lease?.spec?.acquireTime ? microTime(now) : lease.spec.acquireTime,
      leaseTransitions: decision.transitions,
    };
    if (!lease) {
      await api.create(leasesPath(config.namespace), { metadata: { name: config.name }, spec });
    } else {
      await api.replace(leasePath(config.namespace, config.name), {
        metadata: { ...lease.metadata, name: config.name },
        spec,
      });
    }
    if (deadline) clearTimeout(deadline);
    deadline = setTimeout(lose, config.renewDeadlineMs);
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
    if (!stopped) timer = setTimeout(loop, config.retryPeriodMs);
  }

  void loop();
  return {
    isLeader: () => leader,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (deadline) clearTimeout(deadline);
      if (leader) {
        // Hand over at once: an empty holder lets a standby acquire without waiting out the lease.
        try {
          const path = leasePath(config.namespace, config.name);
          const lease = await api.get<LeaseBody>(path);
          if (lease.spec?.holderIdentity === config.identity) {
            await api.replace(path, { ...lease, spec: { ...lease.spec, holderIdentity: undefined } });
          }
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'could not release the lease');
        }
        leader = false;
      }
    },
  };
}
