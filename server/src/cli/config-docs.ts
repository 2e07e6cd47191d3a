/**
 * Regenerates .env.example and the README's configuration table from the
 * settings declarations: `npm run config:docs`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { renderConfigTable, renderEnvExample } from '../config/env-example';

const root = path.resolve(__dirname, '..', '..', '..');
export const TABLE_START = '<!-- config-table:start -->';
export const TABLE_END = '<!-- config-table:end -->';

fs.writeFileSync(path.join(root, '.env.example'), renderEnvExample());

const readmeFile = path.join(root, 'README.md');
const readme = fs.readFileSync(readmeFile, 'utf8');
const start = readme.indexOf(TABLE_START);
const end = readme.indexOf(TABLE_END);
if (start === -1 || end < start) throw new Error(`README.md needs ${TABLE_START} and ${TABLE_END} markers.`);
fs.writeFileSync(readmeFile, `${readme.slice(0, start + TABLE_START.length)}\n${renderConfigTable()}\n${readme.slice(end)}`);
console.log('Wrote .env.example and the README configuration table.');
