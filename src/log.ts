// pino JSON logs to stdout; secrets never reach them (see redact paths).
import { type Logger, pino } from 'pino';

export function makeLogger(level: string, name: string): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['secrets', '*.secrets', 'req.secrets', 'request.secrets', 'token', '*.token'],
      censor: '[redacted]',
    },
  });
}
