// Command-line flags with environment-variable equivalents, and --help generated from the
// same table, so the documentation cannot drift from what is parsed.
import { invalidArgument } from '../errors.ts';

export interface FlagSpec<T> {
  name: string;
  env: string;
  help: string;
  /** Shown in --help; undefined means required or no default. */
  defaultText?: string;
  repeatable?: boolean;
  /** Turns the raw strings (one per occurrence) into the value; throws a message naming what is wrong. */
  parse: (values: string[]) => T;
}

export type Parsed<S extends Record<string, FlagSpec<unknown>>> = {
  [K in keyof S]: ReturnType<S[K]['parse']>;
};

export function parseFlags<S extends Record<string, FlagSpec<unknown>>>(
  specs: S,
  argv: string[],
  env: NodeJS.ProcessEnv,
): Parsed<S> {
  const byName = new Map(Object.entries(specs).map(([key, spec]) => [spec.name, { key, spec }]));
  const raw = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--'))
      throw invalidArgument(`unexpected argument "${arg}" (flags look like --name=value)`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const entry = byName.get(name);
    if (!entry) throw invalidArgument(`unknown flag --${name} (see --help)`);
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (isBoolean(entry.spec) && !(argv[i + 1] === 'true' || argv[i + 1] === 'false')) value = 'true';
    else {
      const next = argv[++i];
      if (next === undefined) throw invalidArgument(`flag --${name} needs a value`);
      value = next;
    }
    const list = raw.get(entry.key) ?? [];
    if (list.length > 0 && !entry.spec.repeatable)
      throw invalidArgument(`flag --${name} given more than once`);
    raw.set(entry.key, [...list, value]);
  }
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const fromEnv = env[spec.env];
    const values =
      raw.get(key) ??
      (fromEnv !== undefined && fromEnv !== '' ? (spec.repeatable ? fromEnv.split(',') : [fromEnv]) : []);
    try {
      out[key] = spec.parse(values);
    } catch (err) {
      throw invalidArgument(`--${spec.name} (or $${spec.env}): ${(err as Error).message}`);
    }
  }
  return out as Parsed<S>;
}

export function helpText(command: string, summary: string, specs: Record<string, FlagSpec<unknown>>): string {
  const lines = [
    `Usage: warren ${command} [flags]`,
    '',
    summary,
    '',
    'Flags (each also read from the environment variable shown):',
  ];
  for (const spec of Object.values(specs)) {
    const def = spec.defaultText === undefined ? '' : ` (default ${spec.defaultText})`;
    lines.push(
      `  --${spec.name}${spec.repeatable ? ' (repeatable)' : ''}  [$${spec.env}]${def}`,
      `      ${spec.help}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function isBoolean(spec: FlagSpec<unknown>): boolean {
  return spec.defaultText === 'true' || spec.defaultText === 'false';
}

// Parsers for the common kinds of flag.
export const one =
  <T>(parse: (v: string) => T, fallback?: T) =>
  (values: string[]): T => {
    const v = values[0];
    if (v === undefined) {
      if (fallback === undefined) throw new Error('is required');
      return fallback;
    }
    return parse(v);
  };

export const text = (v: string): string => {
  if (v.trim() === '') throw new Error('must not be empty');
  return v;
};

export const integer =
  (min: number, max: number) =>
  (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
      throw new Error(`must be a whole number from ${min} to ${max}, got "${v}"`);
    return Number(v);
  };

export const boolean = (v: string): boolean => {
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new Error(`must be true or false, got "${v}"`);
};

/** The largest whole number of minutes under 2^31-1 ms, the longest delay Node's timers keep. */
const maxDurationMs = 35_791 * 60_000;

/** A duration in milliseconds; `minMs` keeps out values (like 0s) that the flag cannot work with. */
export const duration =
  (minMs: number) =>
  (v: string): number => {
    const m = /^(\d+)(ms|s|m)$/.exec(v);
    if (!m) throw new Error(`must be a duration like 500ms, 15s or 5m, got "${v}"`);
    const ms = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
    if (ms < minMs) throw new Error(`must be at least ${formatDuration(minMs)}, got "${v}"`);
    // Node's timers treat a longer delay as 1 ms: a hot loop.
    if (ms > maxDurationMs) throw new Error(`must be at most ${formatDuration(maxDurationMs)}, got "${v}"`);
    return ms;
  };

/** Milliseconds in the largest unit `duration` reads that divides them exactly: 60000 -> 1m. */
export function formatDuration(ms: number): string {
  if (ms !== 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms !== 0 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

export const choice =
  <T extends string>(...allowed: T[]) =>
  (v: string): T => {
    if (!(allowed as string[]).includes(v))
      throw new Error(`must be one of ${allowed.join(', ')}, got "${v}"`);
    return v as T;
  };

export const listenAddress = (v: string): string => {
  if (
    !/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):\d{1,5}$/.test(v) ||
    Number(v.slice(v.lastIndexOf(':') + 1)) > 65535
  ) {
    throw new Error(`must be HOST:PORT (e.g. :8080 or 127.0.0.1:8080), got "${v}"`);
  }
  return v;
};

/** --log-level, the same for every command; `help` may add what debug shows there. */
export const logLevelFlag = (help: string) => ({
  name: 'log-level',
  env: 'WARREN_LOG_LEVEL',
  defaultText: 'info',
  help,
  parse: one(choice('debug', 'info', 'warn', 'error'), 'info'),
});
