// An in-memory NodeFs for tests: directories and other files by path, programmable measurements.
import { failedPrecondition, notFound } from '../../src/errors.ts';
import type { NodeFs, PathKind } from '../../src/node/node-fs.ts';
import type { VolumeMeasurement } from '../../src/node/volume-walk.ts';

export type NodeFsCall =
  | { op: 'makeDirectory'; path: string; mode: number }
  | { op: 'removeDirectory'; path: string }
  | { op: 'measure'; path: string; budgetMs: number };

export interface MemoryNodeFs extends NodeFs {
  readonly calls: NodeFsCall[];
  readonly directories: Set<string>;
  /** Paths that exist but are not directories. */
  readonly others: Set<string>;
  /** Directories that removeDirectory finds not empty. */
  readonly nonEmpty: Set<string>;
  setMeasurement(path: string, result: VolumeMeasurement | Error): void;
}

export function makeMemoryNodeFs(): MemoryNodeFs {
  const calls: NodeFsCall[] = [];
  const directories = new Set<string>();
  const others = new Set<string>();
  const nonEmpty = new Set<string>();
  const measurements = new Map<string, VolumeMeasurement | Error>();

  return {
    calls,
    directories,
    others,
    nonEmpty,
    setMeasurement(path, result) {
      measurements.set(path, result);
    },
    async pathKind(path): Promise<PathKind> {
      if (directories.has(path)) return 'directory';
      return others.has(path) ? 'other' : 'missing';
    },
    async makeDirectory(path, mode) {
      calls.push({ op: 'makeDirectory', path, mode });
      directories.add(path);
    },
    async removeDirectory(path) {
      calls.push({ op: 'removeDirectory', path });
      if (others.has(path) || nonEmpty.has(path))
        throw failedPrecondition(`${path} is not an empty directory`);
      directories.delete(path);
    },
    async measure(path, budgetMs) {
      calls.push({ op: 'measure', path, budgetMs });
      const result = measurements.get(path);
      if (result instanceof Error) throw result;
      if (!result) throw notFound(`no measurement programmed for ${path}`);
      return result;
    },
  };
}
