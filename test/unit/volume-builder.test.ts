// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are subDir templates, Warren's own syntax
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { pvNameFor } from '../../src/claims/claim-plan.ts';
import { buildVolume } from '../../src/claims/volume-builder.ts';
import { defaultSubDirTemplate } from '../../src/provisioning/names.ts';
import type { ClaimFacts, ClassParameters } from '../../src/provisioning/types.ts';
import { encodeVolumeId, locationDigest, parseVolumeId } from '../../src/provisioning/volume-id.ts';
import { volumeIntentFor } from '../../src/provisioning/volume-intent.ts';
import { expectWarrenError } from './expect-warren-error.ts';

const provisioner = 'nfs.warren.dev';
const uid = '0b6a4c2e-1111-2222-3333-444455556666';

function claim(
  overrides: { name?: string; namespace?: string; spec?: V1PersistentVolumeClaim['spec'] } = {},
) {
  return {
    metadata: {
      namespace: overrides.namespace ?? 'team-a',
      name: overrides.name ?? 'data',
      uid,
      labels: { team: 'blue' },
      annotations: { 'volume.kubernetes.io/storage-provisioner': provisioner },
    },
    spec: overrides.spec ?? {
      storageClassName: 'warren-archive',
      accessModes: ['ReadWriteOnce', 'ReadOnlyMany'],
      resources: { requests: { storage: '5Gi' } },
    },
  } satisfies V1PersistentVolumeClaim;
}

const facts = (c: V1PersistentVolumeClaim): ClaimFacts => ({
  namespace: c.metadata?.namespace ?? '',
  name: c.metadata?.name ?? '',
  uid: c.metadata?.uid ?? '',
  labels: c.metadata?.labels ?? {},
  annotations: c.metadata?.annotations ?? {},
});

const params: ClassParameters = {
  server: 'nfs.example.com',
  share: '/export/team',
  subDir: defaultSubDirTemplate,
  onDelete: 'archive',
  mode: 0o2770,
  uid: 1000,
  gid: 2000,
};

const retainClass: V1StorageClass = {
  metadata: { name: 'warren-archive' },
  provisioner,
  reclaimPolicy: 'Retain',
  mountOptions: ['nfsvers=4.1', 'hard'],
  parameters: { server: 'nfs.example.com', share: '/export/team' },
};

describe('volumeIntentFor', () => {
  it('renders the location and encodes it in the id, with mode and owner', () => {
    expect(volumeIntentFor(params, facts(claim()), `pvc-${uid}`)).toStrictEqual({
      volumeId: `1#a#nfs.example.com#/export/team#team-a-data-pvc-${uid}`,
      idForm: 'location',
      location: { server: 'nfs.example.com', share: '/export/team', subDir: `team-a-data-pvc-${uid}` },
      onDelete: 'archive',
      mode: 0o2770,
      uid: 1000,
      gid: 2000,
    });
  });

  it('leaves uid and gid out when the class sets none', () => {
    const intent = volumeIntentFor(
      { server: 'nfs', share: '/', subDir: '${pvc.metadata.name}', onDelete: 'delete', mode: 0o777 },
      facts(claim()),
      `pvc-${uid}`,
    );
    expect(intent).toStrictEqual({
      volumeId: '1#d#nfs#/#data',
      idForm: 'location',
      location: { server: 'nfs', share: '/', subDir: 'data' },
      onDelete: 'delete',
      mode: 0o777,
    });
  });

  it('refuses a claim whose label would climb out of the share', () => {
    const bad = { ...facts(claim()), labels: { team: '..' } };
    expectWarrenError(
      () => volumeIntentFor({ ...params, subDir: "${pvc.metadata.labels['team']}/x" }, bad, 'pvc-1'),
      'InvalidArgument',
      '".."',
    );
  });
});

describe('buildVolume', () => {
  it('fills every field of the PV from the claim, the class and the intent', () => {
    const c = claim();
    const intent = volumeIntentFor(params, facts(c), pvNameFor(c));
    const expected: V1PersistentVolume = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: {
        name: `pvc-${uid}`,
        annotations: { 'pv.kubernetes.io/provisioned-by': provisioner, 'warren.dev/on-delete': 'archive' },
        finalizers: ['warren.dev/directory'],
      },
      spec: {
        capacity: { storage: '5Gi' },
        accessModes: ['ReadWriteOnce', 'ReadOnlyMany'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: 'warren-archive',
        mountOptions: ['nfsvers=4.1', 'hard'],
        volumeMode: 'Filesystem',
        claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: 'team-a', name: 'data', uid },
        csi: {
          driver: provisioner,
          volumeHandle: `1#a#nfs.example.com#/export/team#team-a-data-pvc-${uid}`,
          volumeAttributes: {
            server: 'nfs.example.com',
            share: '/export/team',
            subDir: `team-a-data-pvc-${uid}`,
            onDelete: 'archive',
          },
        },
      },
    };
    expect(buildVolume({ claim: c, storageClass: retainClass, provisioner, intent })).toEqual(expected);
  });

  it('defaults reclaim policy to Delete and access modes to ReadWriteMany, with no mount options', () => {
    const c = claim({ spec: { storageClassName: 'plain', resources: { requests: { storage: '100Mi' } } } });
    const intent = volumeIntentFor({ ...params, onDelete: 'delete' }, facts(c), pvNameFor(c));
    const pv = buildVolume({
      claim: c,
      storageClass: { metadata: { name: 'plain' }, provisioner },
      provisioner,
      intent,
    });
    expect({
      reclaim: pv.spec?.persistentVolumeReclaimPolicy,
      accessModes: pv.spec?.accessModes,
      mountOptions: pv.spec?.mountOptions,
      capacity: pv.spec?.capacity,
      storageClassName: pv.spec?.storageClassName,
      onDeleteAnnotation: pv.metadata?.annotations?.['warren.dev/on-delete'],
      onDeleteAttribute: pv.spec?.csi?.volumeAttributes?.onDelete,
    }).toEqual({
      reclaim: 'Delete',
      accessModes: ['ReadWriteMany'],
      mountOptions: undefined,
      capacity: { storage: '100Mi' },
      storageClassName: 'plain',
      onDeleteAnnotation: 'delete',
      onDeleteAttribute: 'delete',
    });
  });

  it('uses the provisioner name it is given for the driver and the provisioned-by annotation', () => {
    const c = claim();
    const intent = volumeIntentFor(params, facts(c), pvNameFor(c));
    const pv = buildVolume({ claim: c, storageClass: retainClass, provisioner: 'nfs.example.org', intent });
    expect([pv.spec?.csi?.driver, pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by']]).toEqual([
      'nfs.example.org',
      'nfs.example.org',
    ]);
  });

  it('does not mutate the claim or the class', () => {
    const c = claim();
    const sc = structuredClone(retainClass);
    const before = structuredClone({ c, sc });
    buildVolume({
      claim: c,
      storageClass: sc,
      provisioner,
      intent: volumeIntentFor(params, facts(c), pvNameFor(c)),
    });
    expect({ c, sc }).toEqual(before);
  });
});

describe('volume handles of long claims', () => {
  const longNamespace = 'n'.repeat(63);
  const longName = `c${'x'.repeat(251)}z`; // 253 characters, the most Kubernetes allows

  it.each<[string, ClassParameters]>([
    [
      'namespace/name/pv template',
      { ...params, subDir: '${pvc.metadata.namespace}/${pvc.metadata.name}/${pv.metadata.name}' },
    ],
    [
      'labels, annotations and a deep literal prefix',
      {
        ...params,
        share: `/${'s'.repeat(200)}/exports`,
        subDir: `tenants/${'t'.repeat(100)}/\${pvc.metadata.labels['team']}/\${pvc.metadata.name}/\${pvc.metadata.uid}`,
      },
    ],
    [
      'long server name',
      {
        ...params,
        server: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.example.com`,
        subDir: '${pvc.metadata.name}',
      },
    ],
  ])('%s: the handle fits in 128 bytes', (_name, classParams) => {
    const c = claim({ namespace: longNamespace, name: longName });
    const intent = volumeIntentFor(classParams, facts(c), pvNameFor(c));
    const pv = buildVolume({ claim: c, storageClass: retainClass, provisioner, intent });
    const handle = pv.spec?.csi?.volumeHandle ?? '';
    expect(Buffer.byteLength(handle, 'utf8')).toBeLessThanOrEqual(128);
    expect(handle).toBe(`2#a#${locationDigest(intent.location)}`);
    expect(pv.spec?.csi?.volumeAttributes?.subDir).toBe(intent.location.subDir);
  });

  it('the default template fits a 150-character name in a 63-character namespace (255-byte directory)', () => {
    const c = claim({ namespace: longNamespace, name: 'y'.repeat(150) });
    const intent = volumeIntentFor({ ...params, subDir: defaultSubDirTemplate }, facts(c), pvNameFor(c));
    expect(Buffer.byteLength(intent.location.subDir)).toBe(255);
    expect(Buffer.byteLength(intent.volumeId)).toBeLessThanOrEqual(128);
    expect(parseVolumeId(intent.volumeId)).toEqual({
      form: 'digest',
      digest: locationDigest(intent.location),
      onDelete: 'archive',
    });
  });
});

describe('volume ids refuse climbing paths', () => {
  const climbing = { ...volumeIntentFor(params, facts(claim()), `pvc-${uid}`).location, subDir: '../team-b' };

  it('neither the volume id parser nor the encoder accepts a climbing subDir', () => {
    expectWarrenError(
      () => parseVolumeId('1#a#nfs.example.com#/export/team#../team-b'),
      'InvalidArgument',
      '".."',
    );
    expectWarrenError(() => encodeVolumeId(climbing, 'archive'), 'InvalidArgument', '".."');
  });
});
