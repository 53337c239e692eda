// Writes <dir>/proto/<name>.json, the descriptor of each proto/<name>.proto (with the google/protobuf
// types it imports) as protobufjs JSON, for the bundle (hack/bundle.ts puts them in dist/proto/).
// src/csi/load.ts loads a .json found there instead of parsing the .proto at start (about 0.6 s
// of a busy 2-core machine's time for csi.proto). Generated at build time, never committed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { parseProto } from '../src/csi/load.ts';

export const protoNames = ['csi', 'pluginregistration'] as const;

/**
 * The JSON text for proto/<name>.proto: field names as written (proto-loader's keepCase), with only
 * what is on the wire (wireOnly).
 */
export function protoJson(name: string): string {
  const root = parseProto(name);
  return `${JSON.stringify(wireOnly(root.toJSON({ keepComments: false })), null, 1)}\n`;
}

type Json = { [key: string]: unknown };
const annotationKeys = new Set(['options', 'parsedOptions', 'valuesOptions']);

/**
 * Pure: a protobufjs JSON descriptor less what never reaches the wire, which the bundle would
 * otherwise build into its root at start: options and the extensions that declare them
 * (csi.proto's csi_secret and alpha_* annotate fields and methods), then every google.protobuf
 * type that no message or method left uses (descriptor.proto, imported only for those extensions).
 * Measured from the bundle on Node 24: the node plugin rests 0.45 MB lower.
 */
export function wireOnly(descriptor: object): object {
  const stripped = withoutAnnotations(descriptor) as Json;
  const root = protobuf.Root.fromJSON(stripped);
  root.resolveAll();
  const used = new Set<string>();
  const use = (type: protobuf.Type | protobuf.Enum | null) => {
    if (!type || used.has(type.fullName)) return;
    used.add(type.fullName);
    if (type instanceof protobuf.Type) for (const field of type.fieldsArray) use(field.resolvedType);
  };
  const visit = (ns: protobuf.NamespaceBase) => {
    for (const child of ns.nestedArray) {
      if (child.fullName.startsWith('.google.protobuf.')) continue;
      if (child instanceof protobuf.Type || child instanceof protobuf.Enum) use(child);
      if (child instanceof protobuf.Service) {
        for (const method of child.methodsArray) {
          use(method.resolvedRequestType);
          use(method.resolvedResponseType);
        }
      }
      if (child instanceof protobuf.Namespace) visit(child);
    }
  };
  visit(root);
  const types = ['nested', 'google', 'nested', 'protobuf', 'nested'].reduce<Json | undefined>(
    (node, key) => node?.[key] as Json | undefined,
    stripped,
  );
  for (const name of Object.keys(types ?? {})) {
    if (!used.has(`.google.protobuf.${name}`)) delete types?.[name];
  }
  return stripped;
}

// Under these keys of a descriptor the keys are names (of fields, types, methods, values), which
// may be anything, "options" too; elsewhere they are the descriptor's own properties.
const nameMaps = new Set(['nested', 'fields', 'methods', 'values', 'oneofs']);

function withoutAnnotations(node: unknown, keysAreNames = false): unknown {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    const isExtension = typeof value === 'object' && value !== null && 'extend' in value;
    if (isExtension || (!keysAreNames && annotationKeys.has(key))) continue;
    out[key] = withoutAnnotations(value, !keysAreNames && nameMaps.has(key));
  }
  return out;
}

export function writeProtoJson(dir: string): void {
  mkdirSync(join(dir, 'proto'), { recursive: true });
  for (const name of protoNames) writeFileSync(join(dir, 'proto', `${name}.json`), protoJson(name));
}
