// A pino logger whose JSON lines are kept in memory, for asserting what the CSI pipeline logs.
import { type Logger, pino } from 'pino';

export interface CapturedLog {
  log: Logger;
  /** Every line written so far, raw. */
  text(): string;
  /** Every line written so far, parsed. */
  records(): Array<Record<string, unknown>>;
}

export function captureLog(level = 'debug'): CapturedLog {
  const lines: string[] = [];
  // No pino `redact` here on purpose: the pipeline's own redaction is what tests check.
  const log = pino({ level, base: null }, { write: (line: string) => void lines.push(line) });
  return {
    log,
    text: () => lines.join(''),
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
