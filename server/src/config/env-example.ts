/**
 * Renders the settings declarations as .env.example and as the README's
 * configuration table, so documentation cannot drift from the code.
 */
import { deploymentSettings, serverSettings, type SettingDeclaration } from './settings';

const allServerSettings = (): SettingDeclaration<unknown>[] => Object.values(serverSettings);

function envLines(declaration: SettingDeclaration<unknown>): string[] {
  // Commented out: a copied .env changes nothing until a line is uncommented on purpose.
  return [`# ${declaration.help}`, `# ${declaration.env}=${declaration.default ?? ''}`, ''];
}

export function renderEnvExample(): string {
  return [
    '# CrewClaw settings. Copy this file to .env, uncomment and change what you need.',
    '# Each commented line shows the default.',
    '# docker compose reads .env for both sections; the control plane reads the first.',
    '# Generated from server/src/config/settings.ts by `npm run config:docs`; edit there.',
    '',
    '# ---- Control plane ----',
    '',
    ...allServerSettings().flatMap(envLines),
    '# ---- docker compose ----',
    '',
    ...deploymentSettings.flatMap(envLines),
  ].join('\n');
}

export function renderConfigTable(): string {
  const row = (declaration: SettingDeclaration<unknown>, readBy: string) =>
    `| \`${declaration.env}\` | ${declaration.default === undefined ? '(unset)' : `\`${declaration.default}\``} | ${readBy} | ${declaration.help.replace(/\|/g, '\\|')} |`;
  return [
    '| Variable | Default | Read by | What it does |',
    '| --- | --- | --- | --- |',
    ...allServerSettings().map((declaration) => row(declaration, 'control plane')),
    ...deploymentSettings.map((declaration) => row(declaration, 'compose')),
  ].join('\n');
}
