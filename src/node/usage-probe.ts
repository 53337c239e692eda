// Child process entry: `node usage-probe.ts <path> <deadline epoch ms>` prints one measurement line.
// The parent (node-fs.ts) kills this process's group if it blocks on a dead NFS server.
import { encodeMeasurement, measureVolume } from './volume-walk.ts';

const [path, deadline] = process.argv.slice(2);
if (!path || !deadline || !Number.isFinite(Number(deadline))) {
  process.stderr.write('usage: usage-probe.ts <path> <deadline epoch ms>\n');
  process.exit(2);
}
try {
  process.stdout.write(`${encodeMeasurement(await measureVolume(path, Number(deadline)))}\n`);
  process.exit(0);
} catch (err) {
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  process.stderr.write(`cannot measure ${path}: ${code}\n`);
  process.exit(1);
}
