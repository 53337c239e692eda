#!/usr/bin/env node
// warren <command> [flags]: the controller (PVC watcher) and the CSI node plugin.
import { controllerFlags } from './config/controller-flags.ts';
import { helpText, parseFlags } from './config/flags.ts';
import { checkNodeConfig, nodeFlags } from './config/node-flags.ts';
// Each command loads its own code when it runs: the node plugin never loads the Kubernetes client,
// which halves its start-up time on a small node.
import { makeLogger } from './log.ts';

const commands: Record<string, { summary: string; run: (argv: string[]) => Promise<void> }> = {
  controller: {
    summary:
      'Watches PersistentVolumeClaims of Warren StorageClasses, creates a directory per claim on the NFS export and a PersistentVolume bound to it, and handles released volumes.',
    run: async (argv) => {
      if (argv.includes('--help') || argv.includes('-h')) {
        process.stdout.write(helpText('controller', commands.controller?.summary ?? '', controllerFlags));
        return;
      }
      const config = parseFlags(controllerFlags, argv, process.env);
      const log = makeLogger(config.logLevel, 'warren-controller');
      const { runController } = await import('./claims/run-controller.ts');
      const controller = await runController(config, log);
      await stopOnSignal(log, controller.stop);
    },
  },
  node: {
    summary:
      'The CSI plugin on each node: serves Identity and Node (mounting volumes for kubelet) on a unix socket; with --controller also the CSI Controller service.',
    run: async (argv) => {
      if (argv.includes('--help') || argv.includes('-h')) {
        process.stdout.write(helpText('node', commands.node?.summary ?? '', nodeFlags));
        return;
      }
      const config = checkNodeConfig(parseFlags(nodeFlags, argv, process.env));
      const log = makeLogger(config.logLevel, 'warren-node');
      const { runCsiPlugin } = await import('./plugin.ts');
      const plugin = await runCsiPlugin(config, log);
      await stopOnSignal(log, plugin.stop);
    },
  },
};

function usage(): string {
  const list = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return [
    'Usage: warren <command> [flags]',
    '',
    'Commands:',
    ...list,
    '',
    'Run `warren <command> --help` for its flags.',
    '',
  ].join('\n');
}

async function stopOnSignal(
  log: { info: (o: object, m: string) => void },
  stop: () => Promise<void>,
): Promise<void> {
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'stopping');
      const force = setTimeout(() => process.exit(1), 10_000);
      force.unref();
      void stop().finally(resolve);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
}

const [name, ...rest] = process.argv.slice(2);
const command = name ? commands[name] : undefined;
if (!command) {
  process.stderr.write(
    name && name !== '--help' && name !== '-h' ? `warren: unknown command "${name}"\n\n${usage()}` : usage(),
  );
  process.exitCode = name && name !== '--help' && name !== '-h' ? 2 : 0;
} else {
  try {
    await command.run(rest);
  } catch (err) {
    process.stderr.write(`warren ${name}: ${(err as Error).message}\n`);
    process.exitCode = 2;
  }
}
