/**
 * `npm run bench -- NAME [args]` runs test/bench/NAME.bench.ts against its own fresh database
 * (and Redis prefix), prints its figures and cleans up. Benchmarks are not part of `npm test`.
 */
import 'reflect-metadata';
import { cpus } from 'node:os';
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import globalSetup from '../support/global-setup';
import globalTeardown from '../support/global-teardown';

export interface BenchContext {
  args: string[];
  /** Prints one figure as `name: value unit`, and keeps it for the summary. */
  figure(name: string, value: number | string, unit?: string): void;
}

async function main() {
  const [name, ...args] = process.argv.slice(2);
  const available = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .map((f) => f.replace('.bench.ts', ''));
  const file = resolve(__dirname, `${name}.bench.ts`);
  if (!name || !existsSync(file)) {
    process.stderr.write(`usage: npm run bench -- NAME [args]\navailable: ${available.join(', ') || '(none)'}\n`);
    process.exit(2);
  }
  const figures: Array<[string, string]> = [];
  const context: BenchContext = {
    args,
    figure(figureName, value, unit = '') {
      const text = `${typeof value === 'number' ? Number(value.toFixed(2)) : value}${unit ? ' ' + unit : ''}`;
      figures.push([figureName, text]);
      process.stdout.write(`  ${figureName}: ${text}\n`);
    },
  };
  await globalSetup();
  const started = Date.now();
  try {
    process.stdout.write(`benchmark ${name} (${new Date().toISOString()}, ${cpus().length} cores)\n`);
    const bench = await import(file);
    await bench.default(context);
  } finally {
    await globalTeardown();
  }
  process.stdout.write(`\nsummary of ${name} (${((Date.now() - started) / 1000).toFixed(1)} s in all)\n`);
  for (const [figureName, text] of figures) process.stdout.write(`| ${figureName} | ${text} |\n`);
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`benchmark failed: ${error?.stack ?? error}\n`);
  process.exit(1);
});
