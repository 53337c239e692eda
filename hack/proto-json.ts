// Writes <dir>/proto/<name>.json, the descriptor of each proto/<name>.proto (with the google/protobuf
// types it imports) as protobufjs JSON, for the bundle (hack/bundle.ts puts them in dist/proto/).
// src/csi/load.ts loads a .json found there instead of parsing the .proto at start (about 0.6 s
// of a busy 2-core machine's time for csi.proto). Generated at build time, never committed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/google/protobuf/descriptor.json' with { type: 'json' };

// google/protobuf/descriptor.proto (for options) from protobufjs's own copy, as proto-loader does.
protobuf.common('descriptor', descriptor.nested.google.nested.protobuf.nested);

export const protoNames = ['csi', 'pluginregistration'] as const;
const protoDir = join(import.meta.dirname, '..', 'proto');

/** The JSON text for proto/<name>.proto: field names as written (proto-loader's keepCase). */
export function protoJson(name: string): string {
  const root = new protobuf.Root();
  root.loadSync(join(protoDir, `${name}.proto`), { keepCase: true });
  return `${JSON.stringify(root.toJSON({ keepComments: false }), null, 1)}\n`;
}

export function writeProtoJson(dir: string): void {
  mkdirSync(join(dir, 'proto'), { recursive: true });
  for (const name of protoNames) writeFileSync(join(dir, 'proto', `${name}.json`), protoJson(name));
}
