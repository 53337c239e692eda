// Pure: a copy of a request or response that is safe to log. CSI marks secret fields with the
// `csi_secret` option; every such field in csi.proto is named `secrets`, and this also covers any
// `*_secrets` a later spec may add. Values are replaced, keys kept, so the log shows what was sent.

export const redactedText = '[redacted]';

/** Field names of csi.proto fields marked `[(csi_secret) = true]`. */
export const secretFieldNames: ReadonlySet<string> = new Set(['secrets']);

export function isSecretField(name: string): boolean {
  return secretFieldNames.has(name) || name.endsWith('_secrets');
}

export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    copy[key] = isSecretField(key) ? redactMap(field) : redactSecrets(field);
  }
  return copy;
}

/** A secrets map keeps its keys (which secret was passed is useful); every value is hidden. */
function redactMap(field: unknown): unknown {
  if (field === null || typeof field !== 'object' || Array.isArray(field)) {
    return field === undefined ? undefined : redactedText;
  }
  return Object.fromEntries(Object.keys(field).map((key) => [key, redactedText]));
}
