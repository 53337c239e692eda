import type { V1PersistentVolume } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { lastAppliedAnnotation, leanObject } from '../../src/claims/lean-informer.ts';

const volume = (): V1PersistentVolume => ({
  metadata: {
    name: 'pvc-1',
    resourceVersion: '7',
    annotations: { [lastAppliedAnnotation]: '{"kind":"PersistentVolume"}', 'warren.dev/on-delete': 'delete' },
    finalizers: ['kubernetes.io/pv-protection'],
    managedFields: [
      { manager: 'warren', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } },
    ],
  },
  spec: { capacity: { storage: '1Gi' } },
});

describe('leanObject', () => {
  it('drops managedFields and the last-applied annotation, and keeps everything else', () => {
    const lean = leanObject(volume());
    const expected = volume();
    delete expected.metadata?.managedFields;
    delete expected.metadata?.annotations?.[lastAppliedAnnotation];
    expect(lean).toEqual(expected);
  });

  it('keeps the last-applied annotation when asked (a claim: its annotations reach path templates)', () => {
    const lean = leanObject(volume(), { keepLastApplied: true });
    expect(lean.metadata?.annotations?.[lastAppliedAnnotation]).toBe('{"kind":"PersistentVolume"}');
    expect(lean.metadata?.managedFields).toBeUndefined();
  });

  it('leaves objects without metadata or annotations alone (a watch ERROR carries a Status)', () => {
    expect(leanObject({ kind: 'Status', code: 410 })).toEqual({ kind: 'Status', code: 410 });
    expect(leanObject({ metadata: { name: 'a' } })).toEqual({ metadata: { name: 'a' } });
    expect(leanObject(undefined)).toBeUndefined();
  });
});
