// Runs before the gateway at every container start: merges the part of
// openclaw.json the platform owns (JSON in CREWCLAW_OPENCLAW_CONFIG) into the
// user's own file. Platform keys win; every other setting the user made stays.
// `gateway.auth` is replaced whole: a leftover token or password next to
// trusted-proxy auth would stop the gateway from starting.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
// OpenClaw reads its config as JSON5 (comments, trailing commas): parse it the same way.
const JSON5 = require('/usr/local/lib/node_modules/openclaw/node_modules/json5');

const REPLACED_WHOLE = new Set(['gateway.auth']);
const stateDir = process.env.OPENCLAW_STATE_DIR || '/home/node/.openclaw';
const file = process.env.OPENCLAW_CONFIG_PATH || path.join(stateDir, 'openclaw.json');

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function merge(base, over, at = '') {
  for (const [key, value] of Object.entries(over)) {
    const here = at ? `${at}.${key}` : key;
    if (isObject(value) && isObject(base[key]) && !REPLACED_WHOLE.has(here)) merge(base[key], value, here);
    else base[key] = value;
  }
  return base;
}

function readCurrent() {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (error.code === 'ENOENT') return {};
    throw error;
  }
  try {
    const parsed = JSON5.parse(text);
    return isObject(parsed) ? parsed : {};
  } catch (error) {
    // Never lose what the user wrote: keep the unreadable file beside the new one.
    const kept = `${file}.unreadable-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    fs.copyFileSync(file, kept);
    console.error(`crewclaw: ${file} could not be parsed (${error.message}); kept a copy as ${kept}`);
    return {};
  }
}

// `--stdin`: the platform's part comes on stdin instead (a change merged into a running runtime's file,
// which the gateway notices and reloads; the container's environment is fixed at its creation).
const platform = process.argv.includes('--stdin') ? fs.readFileSync(0, 'utf8') : process.env.CREWCLAW_OPENCLAW_CONFIG;
if (platform) {
  const merged = merge(readCurrent(), JSON.parse(platform));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.crewclaw-${process.pid}`;
  fs.writeFileSync(temporary, `${JSON.stringify(merged, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(temporary, file);
}
