import { describe, expect, it } from 'vitest';
import type { VolumeCapability__Output } from '../../src/csi/generated/csi/v1/VolumeCapability.ts';
import {
  answerValidation,
  capacityFits,
  capacityFor,
  claimFactsFor,
  readCapacityRange,
  splitParameters,
  uidFromName,
  withUnclaimedDefault,
} from '../../src/csi-controller/volume-request.ts';
import { expectWarrenError } from './expect-warren-error.ts';

const mount = (mode: string): VolumeCapability__Output =>
  ({
    access_type: 'mount',
    mount: { fs_type: '', mount_flags: [], volume_mount_group: '' },
    access_mode: { mode },
  }) as VolumeCapability__Output;
const gib = 1n << 30n;

describe('capacity', () => {
  it('reads int64 strings and treats a missing range as no preference', () => {
    expect(readCapacityRange(null)).toEqual({ required: 0n, limit: 0n });
    expect(readCapacityRange({ required_bytes: '10737418240', limit_bytes: '0' })).toEqual({
      required: 10n * gib,
      limit: 0n,
    });
  });

  it('refuses a limit below the requirement and negative sizes', () => {
    expectWarrenError(
      () => readCapacityRange({ required_bytes: '200', limit_bytes: '100' }),
      'InvalidArgument',
      'limit_bytes 100 is smaller than required_bytes 200',
    );
    expectWarrenError(() => readCapacityRange({ required_bytes: '-1', limit_bytes: '0' }), 'InvalidArgument');
  });

  it('records required, else limit, else 1 GiB', () => {
    expect(capacityFor({ required: 5n, limit: 9n })).toBe(5n);
    expect(capacityFor({ required: 0n, limit: 9n })).toBe(9n);
    expect(capacityFor({ required: 0n, limit: 0n })).toBe(gib);
  });

  it('judges whether an existing size fits a new range', () => {
    expect(capacityFits(gib, { required: gib, limit: gib })).toBe(true);
    expect(capacityFits(gib, { required: 2n * gib, limit: 2n * gib })).toBe(false);
    expect(capacityFits(2n * gib, { required: gib, limit: gib })).toBe(false);
    expect(capacityFits(gib, { required: 0n, limit: 0n })).toBe(true);
  });
});

describe('parameters and claim facts', () => {
  const withMetadata = {
    server: 'nfs',
    share: '/export',
    'csi.storage.k8s.io/pvc/name': 'data',
    'csi.storage.k8s.io/pvc/namespace': 'shop',
    'csi.storage.k8s.io/pv/name': 'pvc-0b9c1d2e-1111-2222-3333-444455556666',
    'csi.storage.k8s.io/provisioner-secret-name': 'x',
  };

  it('strips external-provisioner metadata and keeps its claim facts', () => {
    const { classParameters, metadata } = splitParameters(withMetadata);
    expect(classParameters).toEqual({ server: 'nfs', share: '/export' });
    expect(metadata).toEqual({
      pvcName: 'data',
      pvcNamespace: 'shop',
      pvName: 'pvc-0b9c1d2e-1111-2222-3333-444455556666',
    });
  });

  it('uses the claim when external-provisioner names it, and the uid inside pvc-<uid> names', () => {
    const name = 'pvc-0b9c1d2e-1111-2222-3333-444455556666';
    const facts = claimFactsFor(name, splitParameters(withMetadata).metadata);
    expect(facts).toEqual({
      claim: {
        namespace: 'shop',
        name: 'data',
        uid: '0b9c1d2e-1111-2222-3333-444455556666',
        labels: {},
        annotations: {},
      },
      pvName: name,
      claimed: true,
    });
  });

  it('without a claim: namespace csi, the name for claim and PV, a stable uid, and a short default template', () => {
    const facts = claimFactsFor('sanity-vol', {});
    expect(facts.claim).toMatchObject({ namespace: 'csi', name: 'sanity-vol' });
    expect(facts.pvName).toBe('sanity-vol');
    expect(facts.claim.uid).toBe(uidFromName('sanity-vol'));
    expect(facts.claim.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(withUnclaimedDefault({ server: 's' }, false)).toEqual({
      server: 's',
      subDir: '${pv.metadata.name}',
    });
    expect(withUnclaimedDefault({ server: 's', SubDir: 'x' }, false)).toEqual({ server: 's', SubDir: 'x' });
    expect(withUnclaimedDefault({ server: 's' }, true)).toEqual({ server: 's' });
  });
});

describe('answerValidation', () => {
  const request = {
    volume_id: 'v',
    volume_context: { server: 'nfs' },
    volume_capabilities: [mount('MULTI_NODE_MULTI_WRITER')],
    parameters: {},
    secrets: {},
    mutable_parameters: {},
  };

  it('confirms what it can serve', () => {
    expect(answerValidation(request).confirmed?.volume_capabilities).toHaveLength(1);
  });

  it('leaves confirmed empty and says why for block, bad parameters and mutable parameters', () => {
    const block = { ...mount('SINGLE_NODE_WRITER'), access_type: 'block' as const, block: {} };
    expect(answerValidation({ ...request, volume_capabilities: [block] })).toEqual({
      message: expect.stringContaining('block access is not supported'),
    });
    expect(
      answerValidation({ ...request, parameters: { server: 'nfs', share: '/x', colour: 'red' } }),
    ).toEqual({
      message: expect.stringContaining('unknown StorageClass parameter "colour"'),
    });
    expect(answerValidation({ ...request, mutable_parameters: { iops: '1' } }).confirmed).toBeUndefined();
  });
});
