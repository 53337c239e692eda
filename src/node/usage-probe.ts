// Child process entry: `node usage-probe.ts <path> <budget ms>` prints "started", then one
// measurement line. The budget counts from here, after start-up; the parent (node-fs.ts) counts
// its own limit from "started" too, and kills this process's group if it blocks on a dead NFS server.
import { encodeMeasurement, measureVolume, startedLine } from './volume-walk.ts';

const [path, budget] = process.argv.slice(2);
if (!path || !budget || !Number.isFinite(Number(budget))) {
  process.stderr.write('usage: usage-probe.ts <path> <budget ms>\n');
  process.exit(2);
}
process.stdout.write(`${startedLine}\n`);
try {
  process.stdout.write(`${encodeMeasurement(await measureVolume(path, Date.now() + Number(budget)))}\n`);
  process.exit(0);
} catch (err) {
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  process.stderr.write(`cannot measure ${path}: ${code}\n`);
  process.exit(1);
}
