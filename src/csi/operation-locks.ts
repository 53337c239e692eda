// Try-locks per key (a volume, a volume at a target path, a volume name). A second operation on a
// held key is refused at once instead of queueing: CSI wants ABORTED, and the CO retries.

export interface OperationLocks {
  /** Takes the key and returns its release function, or undefined when someone holds it. */
  tryAcquire(key: string): (() => void) | undefined;
  /** Keys held right now (for tests and debugging). */
  held(): string[];
}

export function createOperationLocks(): OperationLocks {
  const keys = new Set<string>();
  return {
    tryAcquire(key) {
      if (keys.has(key)) return undefined;
      keys.add(key);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        keys.delete(key);
      };
    },
    held: () => [...keys],
  };
}
