// Build-time patch of the installed OpenClaw: its gateway's event-loop monitor wakes every 20 ms, which
// on an idle runtime is most of its CPU (0.9 % of a core each; 25 idle runtimes keep a 2-core host busy,
// docs/benchmarks.md "Idle runtimes"). Sampled every 250 ms it costs about half as much. The monitor
// treats a gap between samples 5 ms longer than its period as a sign of load, so that threshold moves
// with the period and "degraded" keeps its meaning. A build of another OpenClaw version whose code does
// not match fails here, on purpose: look again rather than ship a patch that silently did nothing.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const RESOLUTION_MS = 250;
const replacements = [
  ['const EVENT_LOOP_MONITOR_RESOLUTION_MS = 20;', `const EVENT_LOOP_MONITOR_RESOLUTION_MS = ${RESOLUTION_MS};`],
  ['const LOAD_DEGRADATION_DELAY_COEVIDENCE_MS = 25;', `const LOAD_DEGRADATION_DELAY_COEVIDENCE_MS = ${RESOLUTION_MS + 5};`],
];

const dist = join(process.argv[2], 'dist');
const patched = [];
for (const name of readdirSync(dist).filter((file) => file.endsWith('.mjs') || file.endsWith('.js'))) {
  const path = join(dist, name);
  const text = readFileSync(path, 'utf8');
  if (!text.includes(replacements[0][0])) continue;
  let next = text;
  for (const [from, to] of replacements) {
    if (next.split(from).length !== 2) throw new Error(`${name}: expected "${from}" exactly once`);
    next = next.replace(from, to);
  }
  writeFileSync(path, next);
  patched.push(name);
}
if (patched.length !== 1) throw new Error(`expected one file with OpenClaw's event-loop monitor, found ${patched.length}: ${patched.join(', ')}`);
console.log(`quiet-idle: ${patched[0]} samples its event loop every ${RESOLUTION_MS} ms`);
