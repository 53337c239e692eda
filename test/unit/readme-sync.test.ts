// The README's flag reference is the CLI's own --help, kept in sync by this test.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { controllerFlags } from '../../src/config/controller-flags.ts';
import { helpText } from '../../src/config/flags.ts';
import { nodeFlags } from '../../src/config/node-flags.ts';

const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

function section(name: string): string {
  const m = new RegExp(`<!-- ${name}:start -->\\n\`\`\`\\n([\\s\\S]*?)\`\`\`\\n<!-- ${name}:end -->`).exec(
    readme,
  );
  if (!m?.[1]) throw new Error(`README has no ${name} section`);
  return m[1];
}

it('documents every controller flag exactly as --help prints it', () => {
  const help = section('controller-help');
  expect(help).toContain(helpText('controller', '', controllerFlags).split('\n\n').slice(2).join('\n\n'));
  for (const spec of Object.values(controllerFlags)) expect(help).toContain(`--${spec.name}`);
});

it('documents every node plugin flag exactly as --help prints it', () => {
  const help = section('node-help');
  expect(help).toContain(helpText('node', '', nodeFlags).split('\n\n').slice(2).join('\n\n'));
  for (const spec of Object.values(nodeFlags)) expect(help).toContain(`--${spec.name}`);
});
