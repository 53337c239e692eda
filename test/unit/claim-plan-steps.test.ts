// planClaim's complete plans: what a provision records and builds, when it fails instead, and what
// an abandon releases or keeps. (decideClaim's gate is table-tested in claim-plan.test.ts.)
import type { V1PersistentVolume } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { planClaim, volumeConflict } from '../../src/claims/claim-plan.ts';
import { directoryFinalizer, intentAnnotation } from '../../src/claims/object-names.ts';
import { buildVolume } from '../../src/claims/volume-builder.ts';
import { volumeLookupOf } from '../../src/claims/volume-index.ts';
import { serializeIntent } from '../../src/provisioning/volume-intent.ts';
import {
  claim,
  deletedMidProvisioning,
  planFor,
  provisioner,
  pvName,
  server,
  storageClass,
  subDir,
} from './reconcile-fixtures.ts';

const sc = storageClass();
const intent = planFor(claim(), sc);
const volumeAt = (name: string, at: string): V1PersistentVolume => ({
  metadata: { name },
  spec: {
    csi: {
      driver: provisioner,
      volumeHandle: 'x',
      volumeAttributes: { server, share: '/export', subDir: at },
    },
  },
});

describe('planClaim: provision', () => {
  it('a new claim: record the intent, then build exactly this PV', () => {
    expect(
      planClaim({
        claim: claim(),
        storageClass: sc,
        provisioner,
        pvExists: false,
        volumes: volumeLookupOf([]),
      }),
    ).toStrictEqual({
      action: 'provision',
      plan: {
        intent,
        serializedIntent: serializeIntent(intent),
        recordIntent: true,
        volume: buildVolume({ claim: claim(), storageClass: sc, provisioner, intent }),
      },
    });
  });

  it.each([
    {
      name: 'the same intent, the finalizer and the pre-binding (a restart): nothing to record',
      preBound: true,
      record: false,
    },
    {
      name: 'an intent an older Warren recorded without pre-binding: recorded again, with volumeName',
      preBound: false,
      record: true,
    },
  ])('$name', ({ preBound, record }) => {
    const c = claim({
      finalizers: [directoryFinalizer],
      annotations: { [intentAnnotation]: serializeIntent(intent) },
      preBound,
    });
    const plan = planClaim({
      claim: c,
      storageClass: sc,
      provisioner,
      pvExists: false,
      volumes: volumeLookupOf([]),
    });
    expect(plan).toMatchObject({ action: 'provision', plan: { recordIntent: record } });
    expect(plan).not.toHaveProperty('plan.replacesIntent');
  });

  it('a claim the binder has not named yet, while a PV of its class is bound to no claim: left to the binder', () => {
    const named = claim();
    const { 'volume.kubernetes.io/storage-provisioner': _named, ...annotations } =
      named.metadata?.annotations ?? {};
    const c = { ...named, metadata: { ...named.metadata, annotations } };
    const unbound: V1PersistentVolume = {
      metadata: { name: 'static-1' },
      spec: { storageClassName: 'warren' },
    };
    const boundElsewhere: V1PersistentVolume = {
      metadata: { name: 'static-2' },
      spec: { storageClassName: 'warren', claimRef: { namespace: 'x', name: 'y' } },
    };
    const among = (volumes: V1PersistentVolume[]) =>
      planClaim({
        claim: c,
        storageClass: sc,
        provisioner,
        pvExists: false,
        volumes: volumeLookupOf(volumes),
      });
    expect(among([boundElsewhere])).toMatchObject({ action: 'provision' });
    expect(among([boundElsewhere, unbound])).toStrictEqual({
      action: 'ignore',
      reason: "PV static-1 of the claim's class is bound to no claim; the binder may bind the claim to it",
    });
  });

  it('a different recorded intent is replaced, and the plan says which', () => {
    const c = claim({ finalizers: [directoryFinalizer], annotations: { [intentAnnotation]: '{"old":1}' } });
    expect(
      planClaim({ claim: c, storageClass: sc, provisioner, pvExists: false, volumes: volumeLookupOf([]) }),
    ).toMatchObject({
      action: 'provision',
      plan: { recordIntent: true, replacesIntent: '{"old":1}' },
    });
  });

  it.each([
    ['the same directory', subDir],
    ['a directory inside it', `${subDir}/inner`],
  ])('another PV at %s: fail with FailedPrecondition naming it', (_what, at) => {
    const plan = planClaim({
      claim: claim(),
      storageClass: sc,
      provisioner,
      pvExists: false,
      volumes: volumeLookupOf([volumeAt('pvc-other', at)]),
    });
    expect(plan).toMatchObject({ action: 'fail', error: { kind: 'FailedPrecondition' } });
    expect(plan.action === 'fail' && plan.error.message).toContain('directory of PV pvc-other');
  });

  it('bad class parameters: fail with InvalidArgument naming the parameter', () => {
    const plan = planClaim({
      claim: claim(),
      storageClass: storageClass({ colour: 'red' }),
      provisioner,
      pvExists: false,
      volumes: volumeLookupOf([]),
    });
    expect(plan).toMatchObject({ action: 'fail', error: { kind: 'InvalidArgument' } });
    expect(plan.action === 'fail' && plan.error.message).toContain('unknown StorageClass parameter "colour"');
  });
});

describe('planClaim: abandon', () => {
  it('a confirmed intent: release only an empty directory, unless the PV exists after all', () => {
    expect(
      planClaim({
        claim: deletedMidProvisioning(sc),
        storageClass: sc,
        provisioner,
        pvExists: false,
        volumes: volumeLookupOf([]),
      }),
    ).toStrictEqual({
      action: 'abandon',
      plan: {
        release: {
          location: intent.location,
          onDelete: 'delete',
          onlyIfEmpty: true,
          volumeId: intent.volumeId,
          name: pvName,
        },
        unlessVolume: pvName,
        discardCopy: false,
      },
    });
  });

  it.each([
    ['an edited intent', deletedMidProvisioning(sc, '{"volumeId":"1#d#x#/y#z"}'), sc],
    ['no StorageClass', deletedMidProvisioning(sc), undefined],
    ['a class that no longer parses', deletedMidProvisioning(sc), storageClass({ colour: 'red' })],
  ])('%s: keep everything', (_what, c, given) => {
    expect(
      planClaim({ claim: c, storageClass: given, provisioner, pvExists: false, volumes: volumeLookupOf([]) }),
    ).toStrictEqual({
      action: 'abandon',
      plan: { keep: 'its recorded intent cannot be confirmed against its StorageClass' },
    });
  });

  it('another PV uses the place: keep it', () => {
    expect(
      planClaim({
        claim: deletedMidProvisioning(sc),
        storageClass: sc,
        provisioner,
        pvExists: false,
        volumes: volumeLookupOf([volumeAt('pvc-other', subDir)]),
      }),
    ).toStrictEqual({ action: 'abandon', plan: { keep: 'PV pvc-other uses the same place' } });
  });
});

describe('volumeConflict', () => {
  it("is none for the claim's own PV and FailedPrecondition for another claim's", () => {
    const own = buildVolume({ claim: claim(), storageClass: sc, provisioner, intent });
    expect(volumeConflict(own, claim())).toBeUndefined();
    const foreign = { ...own, spec: { ...own.spec, claimRef: { uid: 'someone-else' } } };
    expect(volumeConflict(foreign, claim())).toMatchObject({
      kind: 'FailedPrecondition',
      message: `PersistentVolume ${pvName} exists but is bound to another claim; delete it or the claim`,
    });
  });
});
