// The StorageClass `subDir` template: literal `/` makes directories, substituted values never can.
import { invalidArgument } from '../errors.ts';
import { byteLength, hasControlCharacter, quote } from '../text.ts';
import { reservedDirName } from './names.ts';
import { checkSubDir, maxSegmentBytes } from './paths.ts';
import type { ClaimFacts } from './types.ts';

type Field = 'namespace' | 'name' | 'uid' | 'pvName';
type TemplatePart =
  | { kind: 'literal'; text: string }
  | { kind: 'field'; field: Field; expression: string }
  | { kind: 'map'; map: 'labels' | 'annotations'; key: string; expression: string };

const fieldVariables: Record<string, Field> = {
  'pvc.metadata.namespace': 'namespace',
  'pvc.metadata.name': 'name',
  'pvc.metadata.uid': 'uid',
  'pv.metadata.name': 'pvName',
};
const mapVariable = /^pvc\.metadata\.(labels|annotations)\[(['"])([^'"]+)\2\]$/;
const knownVariables = [
  ...Object.keys(fieldVariables),
  "pvc.metadata.labels['KEY']",
  "pvc.metadata.annotations['KEY']",
]
  .map((name) => `\${${name}}`)
  .join(', ');

/** Splits a template into literal text and variables; unknown variables and a lone `${` are errors. */
export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let position = 0;
  while (position < template.length) {
    const start = template.indexOf('${', position);
    if (start === -1) {
      parts.push({ kind: 'literal', text: template.slice(position) });
      break;
    }
    if (start > position) parts.push({ kind: 'literal', text: template.slice(position, start) });
    const end = template.indexOf('}', start);
    if (end === -1) {
      throw invalidArgument(
        `subDir template ${quote(template)} has an unterminated ${quote(template.slice(start))}; close it with "}"`,
      );
    }
    const expression = template.slice(start, end + 1);
    const name = template.slice(start + 2, end);
    const field = fieldVariables[name];
    const mapMatch = mapVariable.exec(name);
    if (field) parts.push({ kind: 'field', field, expression });
    else if (mapMatch) {
      const map = mapMatch[1] === 'labels' ? 'labels' : 'annotations';
      parts.push({ kind: 'map', map, key: mapMatch[3] ?? '', expression });
    } else {
      throw invalidArgument(
        `subDir template ${quote(template)} uses unknown variable ${quote(expression)}; known: ${knownVariables}`,
      );
    }
    position = end + 1;
  }
  return parts;
}

/**
 * Checks what can be checked before any claim exists: syntax, variables, and the literal text
 * (not absolute, no empty/`.`/`..` segments, no control characters). Used when parsing StorageClass parameters.
 */
export function checkTemplate(template: string): string {
  const fail = (why: string) => invalidArgument(`subDir template ${quote(template)} ${why}`);
  if (template === '') {
    throw invalidArgument('subDir template is empty; remove the parameter to use the default');
  }
  const parts = parseTemplate(template);
  if (template.startsWith('/')) throw fail('must be relative to the share, not start with "/"');
  if (hasControlCharacter(template)) throw fail('must not contain NUL or other control characters');
  // A placeholder stands in for each variable, so only the literal text is judged here.
  const segments = parts
    .map((part) => (part.kind === 'literal' ? part.text : '\u0000'))
    .join('')
    .split('/');
  for (const segment of segments) {
    if (segment === '') throw fail('must not contain an empty segment ("//" or a trailing "/")');
    if (segment === '.' || segment === '..') throw fail(`must not contain a ${quote(segment)} segment`);
  }
  if (segments[0] === reservedDirName) {
    throw fail(`must not start with ${quote(reservedDirName)}; Warren keeps its records there`);
  }
  return template;
}

const claimRef = (claim: ClaimFacts) => `${claim.namespace}/${claim.name}`;

type VariablePart = Exclude<TemplatePart, { kind: 'literal' }>;

function originOf(part: VariablePart, claim: ClaimFacts): string {
  const ref = `claim ${claimRef(claim)}`;
  if (part.kind === 'map') {
    return `${part.map === 'labels' ? 'label' : 'annotation'} ${quote(part.key)} of ${ref}`;
  }
  return part.field === 'pvName' ? `PV name for ${ref}` : `${part.field} of ${ref}`;
}

function claimValue(part: VariablePart, claim: ClaimFacts, pvName: string) {
  if (part.kind === 'map') {
    const values = claim[part.map];
    return Object.hasOwn(values, part.key) ? values[part.key] : undefined;
  }
  return part.field === 'pvName' ? pvName : claim[part.field];
}

function checkValue(value: string | undefined, origin: string, part: VariablePart, template: string): string {
  const used = `(used by ${part.expression} in subDir template ${quote(template)})`;
  if (value === undefined) {
    const what =
      part.kind === 'map' ? `add the ${part.map === 'labels' ? 'label' : 'annotation'} to the claim` : '';
    throw invalidArgument(
      `${origin} is missing ${used}; ${what || 'fix the claim'} or change the StorageClass`,
    );
  }
  const fail = (why: string) => invalidArgument(`${origin} has value ${quote(value)}: ${why} ${used}`);
  if (value === '') throw fail('an empty value cannot name a directory');
  if (value.includes('/')) {
    throw fail('a value must not contain "/"; only the template\'s own text makes directories');
  }
  if (hasControlCharacter(value)) throw fail('a value must not contain NUL or other control characters');
  if (value === '.' || value === '..') throw fail('a value must not be "." or ".."');
  const bytes = byteLength(value);
  if (bytes > maxSegmentBytes) {
    throw fail(`it is ${bytes} bytes; a directory name is limited to ${maxSegmentBytes}`);
  }
  return value;
}

/**
 * Renders the template for one claim into a subDir that stays inside the share. The template is
 * one that checkTemplate accepted (parseClassParameters checks it once); the rendered path is
 * checked again as a whole, so no value can carry it out of the share.
 */
export function renderSubDir(template: string, claim: ClaimFacts, pvName: string): string {
  const rendered = parseTemplate(template)
    .map((part) =>
      part.kind === 'literal'
        ? part.text
        : checkValue(claimValue(part, claim, pvName), originOf(part, claim), part, template),
    )
    .join('');
  return checkSubDir(
    rendered,
    'subDir',
    `rendered from template ${quote(template)} for claim ${claimRef(claim)}`,
  );
}
