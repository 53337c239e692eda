// Small text helpers every folder uses: quoting values in messages, byte lengths, control characters,
// errno codes.

export const byteLength = (text: string): number => Buffer.byteLength(text, 'utf8');

/** C0 controls (NUL included), DEL and C1 controls: never part of a name we create or accept. */
export function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}

/** JSON-quotes a value for an error message, shortened so a huge annotation cannot flood a log line. */
export function quote(value: string): string {
  const limit = 120;
  if (value.length <= limit) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, limit))}… (${byteLength(value)} bytes)`;
}

/** The errno code of a failed system call (`ENOENT`, ...), if it has one. */
export const errnoCode = (err: unknown): string | undefined => {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
};

/** A thrown value as one line of text. */
export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The largest uid or gid Warren accepts (the kernel's is larger; Kubernetes caps at int32). */
export const maxId = 2147483647;
