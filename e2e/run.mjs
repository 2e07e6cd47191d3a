// Runs the browser specs in e2e/tests with Node's test runner, one file at a time
// (each starts its own control plane and Chromium). Prints the spec report, then
// the TAP-style summary lines (# tests, # pass, # fail ...), and exits non-zero
// when anything failed. `npm run test:e2e` builds first.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
for (const built of ['dist/server/main.js', 'dist/web/index.html']) {
  if (!existsSync(path.join(root, built))) {
    console.error(`${built} is missing. Run \`npm run build\` (or \`npm run test:e2e\`, which builds first).`);
    process.exit(1);
  }
}

const only = process.argv.slice(2);
const testsDir = path.join(here, 'tests');
const files = readdirSync(testsDir)
  .filter((name) => name.endsWith('.test.mjs'))
  .filter((name) => only.length === 0 || only.some((part) => name.includes(part)))
  .sort()
  .map((name) => path.join(testsDir, name));

if (files.length === 0) {
  console.error('No e2e spec files matched.');
  process.exit(1);
}

const summary = [];
let failed = false;
// The limit is per spec file. runtime.test.mjs starts real OpenClaw containers twice
// (30-90 s each on a small machine), so it needs far more than the UI-only specs.
const stream = run({ files, concurrency: 1, timeout: 600_000 });
stream.on('test:fail', () => {
  failed = true;
});
stream.on('test:diagnostic', (event) => {
  // The run-level totals (tests, pass, fail, duration_ms ...) come at nesting 0.
  if (event.nesting === 0 && /^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /.test(event.message)) {
    summary.push(`# ${event.message}`);
  }
});

const reporter = stream.compose(new spec());
reporter.pipe(process.stdout);
reporter.on('end', () => {
  if (summary.length > 0) process.stdout.write(`\n${summary.join('\n')}\n`);
  const failCount = summary.find((line) => line.startsWith('# fail '));
  if (failed || (failCount && failCount !== '# fail 0')) process.exitCode = 1;
});
