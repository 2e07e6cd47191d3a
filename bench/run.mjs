// Runs the benchmarks (all, or those named on the command line) and saves each
// result as JSON under bench/results/ for docs/benchmarks.md.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './lib.mjs';

const available = fs.readdirSync(path.join(ROOT, 'bench')).filter((name) => name.endsWith('.bench.mjs'));
const wanted = process.argv.slice(2);
const chosen = wanted.length ? available.filter((name) => wanted.some((want) => name.startsWith(want))) : available;
if (chosen.length === 0) {
  console.error(`No benchmark matches ${wanted.join(' ')}. Available: ${available.join(', ')}`);
  process.exit(2);
}
fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
for (const name of chosen) {
  const { run } = await import(`./${name}`);
  const result = await run();
  fs.writeFileSync(path.join(ROOT, 'bench/results', name.replace('.bench.mjs', '.json')), `${JSON.stringify(result, null, 2)}\n`);
}
