import fs from 'node:fs';
import path from 'node:path';
import { renderConfigTable, renderEnvExample } from './env-example';
import { deploymentSettings, serverSettings } from './settings';

const root = path.resolve(__dirname, '..', '..', '..');
const fix = 'Run `npm run config:docs` to regenerate it from server/src/config/settings.ts.';

describe('documented settings', () => {
  it('.env.example lists exactly the declared settings, with their help and defaults', () => {
    const onDisk = fs.readFileSync(path.join(root, '.env.example'), 'utf8');
    if (onDisk !== renderEnvExample()) throw new Error(`.env.example is out of step with the settings. ${fix}`);
    const names = [...onDisk.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]);
    const declared = [...Object.values(serverSettings), ...deploymentSettings].map((setting) => setting.env);
    expect(names.sort()).toEqual(declared.sort());
  });

  it('the README configuration table matches the settings', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    if (!readme.includes(renderConfigTable())) throw new Error(`README.md's configuration table is out of step. ${fix}`);
  });

  it('declares each variable once, with help text', () => {
    const all = [...Object.values(serverSettings), ...deploymentSettings];
    expect(new Set(all.map((setting) => setting.env)).size).toBe(all.length);
    for (const setting of all) expect(setting.help.length).toBeGreaterThan(10);
  });
});
