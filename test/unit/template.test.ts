// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are subDir templates, Warren's own syntax
import { describe, expect, it } from 'vitest';
import { defaultSubDirTemplate } from '../../src/provisioning/names.ts';
import { checkTemplate, renderSubDir } from '../../src/provisioning/template.ts';
import type { ClaimFacts } from '../../src/provisioning/types.ts';
import { expectWarrenError } from './expect-warren-error.ts';

const claim: ClaimFacts = {
  namespace: 'team-a',
  name: 'data',
  uid: '0f3c-11aa',
  labels: { team: 'blue', 'app.kubernetes.io/name': 'db', city: 'Zürich' },
  annotations: { 'example.com/owner': 'alice' },
};
const pv = 'pvc-0f3c-11aa';
const withLabel = (value: string): ClaimFacts => ({ ...claim, labels: { ...claim.labels, team: value } });
const labelTeam = "${pvc.metadata.labels['team']}";

describe('renderSubDir', () => {
  it.each([
    [defaultSubDirTemplate, 'team-a-data-pvc-0f3c-11aa'],
    ['${pvc.metadata.namespace}/${pvc.metadata.name}', 'team-a/data'],
    [`${labelTeam}/x`, 'blue/x'],
    ['${pvc.metadata.labels["app.kubernetes.io/name"]}', 'db'],
    ["${pvc.metadata.labels['app.kubernetes.io/name']}-${pvc.metadata.uid}", 'db-0f3c-11aa'],
    ["owners/${pvc.metadata.annotations['example.com/owner']}", 'owners/alice'],
    ['static', 'static'],
    ['a/b/${pv.metadata.name}', 'a/b/pvc-0f3c-11aa'],
    ["${pvc.metadata.labels['city']}", 'Zürich'],
    ['$notvar-${pvc.metadata.name}}', '$notvar-data}'],
    ['.${pvc.metadata.name}', '.data'],
    ['..${pvc.metadata.name}', '..data'],
  ])('renders %s as %s', (template, expected) => {
    expect(renderSubDir(template, claim, pv)).toBe(expected);
  });

  it('accepts a segment of exactly 255 bytes', () => {
    expect(renderSubDir(labelTeam, withLabel('é'.repeat(127).concat('a')), pv)).toHaveLength(128);
  });

  it.each<[string, string, ClaimFacts, string, string[]]>([
    [
      'label value with ..',
      `${labelTeam}/x`,
      withLabel('../x'),
      pv,
      ['label "team" of claim team-a/data has value "../x"', '"/"'],
    ],
    ['label value ..', labelTeam, withLabel('..'), pv, ['has value ".."', '"." or ".."']],
    ['label value .', `x/${labelTeam}`, withLabel('.'), pv, ['has value "."']],
    ['label value with /', labelTeam, withLabel('a/b'), pv, ['has value "a/b"']],
    ['absolute label value', labelTeam, withLabel('/etc'), pv, ['has value "/etc"']],
    [
      'empty label value',
      labelTeam,
      withLabel(''),
      pv,
      ['label "team" of claim team-a/data has value ""', 'empty'],
    ],
    ['NUL in label value', labelTeam, withLabel('a\0b'), pv, ['"a\\u0000b"', 'NUL']],
    ['newline in label value', labelTeam, withLabel('a\nb'), pv, ['"a\\nb"', 'control']],
    ['C1 control in label value', labelTeam, withLabel('a\u0085'), pv, ['control']],
    [
      'missing label',
      "${pvc.metadata.labels['tier']}",
      claim,
      pv,
      ['label "tier" of claim team-a/data is missing'],
    ],
    [
      'inherited property as label',
      "${pvc.metadata.labels['constructor']}",
      claim,
      pv,
      ['label "constructor"', 'missing'],
    ],
    [
      '__proto__ as label',
      "${pvc.metadata.labels['__proto__']}",
      claim,
      pv,
      ['label "__proto__"', 'missing'],
    ],
    [
      'missing annotation',
      "${pvc.metadata.annotations['x']}",
      claim,
      pv,
      ['annotation "x" of claim team-a/data is missing'],
    ],
    [
      'absolute annotation',
      "${pvc.metadata.annotations['example.com/owner']}",
      { ...claim, annotations: { 'example.com/owner': '/root' } },
      pv,
      ['annotation "example.com/owner" of claim team-a/data has value "/root"'],
    ],
    [
      'namespace ..',
      '${pvc.metadata.namespace}',
      { ...claim, namespace: '..' },
      pv,
      ['namespace of claim ../data'],
    ],
    [
      'PV name with /',
      'x/${pv.metadata.name}',
      claim,
      'a/b',
      ['PV name for claim team-a/data has value "a/b"'],
    ],
    [
      '300-byte label value',
      labelTeam,
      withLabel('x'.repeat(300)),
      pv,
      ['label "team"', '300 bytes', 'limited to 255'],
    ],
    ['256-byte unicode value', labelTeam, withLabel('é'.repeat(128)), pv, ['label "team"', '256 bytes']],
    [
      'segment over 255 bytes with literal text',
      `x-${labelTeam}`,
      withLabel('z'.repeat(254)),
      pv,
      ['256 bytes', 'limit is 255'],
    ],
    [
      'path over 1024 bytes',
      Array(5).fill(labelTeam).join('/'),
      withLabel('y'.repeat(250)),
      pv,
      ['longer than 1024 bytes'],
    ],
    [
      'value naming the reserved dir',
      `${labelTeam}/x`,
      withLabel('.warren'),
      pv,
      ['must not start with ".warren"'],
    ],
    ['reserved dir in literal', '.warren/${pvc.metadata.name}', claim, pv, ['".warren"']],
    [
      'unknown variable',
      'x/${pvc.spec.storageClassName}',
      claim,
      pv,
      ['"${pvc.spec.storageClassName}"', 'known:'],
    ],
    ['variable in wrong case', '${PVC.metadata.name}', claim, pv, ['"${PVC.metadata.name}"']],
    ['unterminated variable', 'x-${pvc.metadata.name', claim, pv, ['unterminated "${pvc.metadata.name"']],
    ['mismatched quotes', '${pvc.metadata.labels[\'team"]}', claim, pv, ['unknown variable']],
    ['unquoted key', '${pvc.metadata.labels[team]}', claim, pv, ['"${pvc.metadata.labels[team]}"']],
    ['empty variable', 'x-${}', claim, pv, ['"${}"']],
    [
      'absolute template',
      '/srv/${pvc.metadata.name}',
      claim,
      pv,
      ['"/srv/${pvc.metadata.name}"', 'relative'],
    ],
    ['template climbing out', '../${pvc.metadata.name}', claim, pv, ['".."']],
    ['template with //', 'a//${pvc.metadata.name}', claim, pv, ['empty segment']],
    ['template with trailing /', '${pvc.metadata.name}/', claim, pv, ['empty segment']],
    ['empty template', '', claim, pv, ['empty']],
  ])('rejects %s', (_name, template, facts, pvName, fragments) => {
    expectWarrenError(() => renderSubDir(template, facts, pvName), 'InvalidArgument', ...fragments);
  });
});

describe('checkTemplate', () => {
  it('accepts templates whose variables would supply a whole segment', () => {
    expect(checkTemplate(`${labelTeam}/${labelTeam}`)).toBe(`${labelTeam}/${labelTeam}`);
  });

  it.each(['./${pvc.metadata.name}', 'a/../b', 'tab\there', '/'])(
    'rejects literal text in %j',
    (template) => {
      expectWarrenError(() => checkTemplate(template), 'InvalidArgument', JSON.stringify(template));
    },
  );
});
