/**
 * The only reader of process.env. Parses every declared setting, fails fast
 * with a message naming each bad variable, and hands out a frozen object.
 */
import { isIP } from 'node:net';
import path from 'node:path';
import { addressingProblem, runtimeAddressing } from '../proxy/runtime-address';
import { PROVIDER_KEY_ENV_VARS } from '../models/provider-kinds';
import { serverSettings, type SettingDeclaration } from './settings';

type Settings = typeof serverSettings;
type ParsedSettings = { readonly [K in keyof Settings]: Settings[K] extends SettingDeclaration<infer T> ? T : never };

export type Config = ParsedSettings & {
  readonly logFormat: 'json' | 'pretty';
  readonly databaseFile: string;
  readonly litellmConfigPath: string;
  /** Which provider key variables (.env) are set: their names only, the keys are LiteLLM's. */
  readonly providerKeysInEnv: ReadonlySet<string>;
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function parseSetting<T>(declaration: SettingDeclaration<T>, env: NodeJS.ProcessEnv): { value?: T; problem?: string } {
  const given = env[declaration.env];
  const raw = given === undefined || given === '' ? declaration.default : given;
  const result = declaration.schema.safeParse(raw);
  if (result.success) return { value: result.data };
  const reason = result.error.issues.map((issue) => issue.message).join('; ');
  const shown = declaration.secret || raw === undefined ? '' : ` (got "${raw}")`;
  return { problem: `${declaration.env}: ${reason}${shown}. ${declaration.help}` };
}

/** A domain name (with a dot), not an IP address or localhost. */
function isCertifiableName(hostname: string): boolean {
  const name = hostname.replace(/^\[(.*)\]$/, '$1');
  return isIP(name) === 0 && name.includes('.') && name !== 'localhost' && !name.endsWith('.localhost');
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, declaration] of Object.entries(serverSettings) as [string, SettingDeclaration<unknown>][]) {
    const { value, problem } = parseSetting(declaration, env);
    if (problem) problems.push(problem);
    else values[key] = value;
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const parsed = values as ParsedSettings;
  // Pages a runtime serves must not share the platform's origin (they could call /api as the user).
  const runtimeUrl = new URL(parsed.runtimeUrl);
  if (runtimeUrl.origin === new URL(parsed.publicUrl).origin) {
    throw new ConfigError([`RUNTIME_URL: must be another origin than PUBLIC_URL (another port or host name), got ${parsed.runtimeUrl}`]);
  }
  if (runtimeUrl.pathname !== '/' || runtimeUrl.search) throw new ConfigError([`RUNTIME_URL: an origin only (scheme, host, port), without a path, got ${parsed.runtimeUrl}`]);
  const addressing = runtimeAddressing(parsed.runtimeUrl);
  const layoutProblem = addressingProblem(addressing, parsed.publicUrl);
  if (layoutProblem) throw new ConfigError([layoutProblem]);
  // Traefik's ACME client proves each name with a TLS challenge, which cannot get a wildcard certificate,
  // and a runtime's host has no route (so no certificate) while it is stopped.
  if (addressing.layout === 'subdomain' && parsed.tlsMode === 'acme') {
    throw new ConfigError([
      `RUNTIME_URL: per-user subdomains (${parsed.runtimeUrl}) need a wildcard certificate, which CREWCLAW_TLS=acme cannot get (Let's Encrypt gives those only through a DNS challenge): use CREWCLAW_TLS=file with a certificate for both ${new URL(parsed.publicUrl).hostname} and *.${addressing.domain}`,
    ]);
  }
  // With HTTPS on, Traefik serves nothing but HTTPS: http addresses would send browsers nowhere. (With it
  // off, https addresses are fine: another proxy in front may do TLS.)
  const plain = (['publicUrl', 'runtimeUrl'] as const).filter((key) => parsed.tlsMode !== 'off' && new URL(parsed[key]).protocol !== 'https:');
  if (plain.length > 0) {
    throw new ConfigError(plain.map((key) => `${key === 'publicUrl' ? 'PUBLIC_URL' : 'RUNTIME_URL'}: must start with https:// when CREWCLAW_TLS is ${parsed.tlsMode}, got ${parsed[key]}`));
  }
  // An ACME server certifies names it can reach, never an address or a name of this machine only.
  const unnamed = (['publicUrl', 'runtimeUrl'] as const).filter((key) => parsed.tlsMode === 'acme' && !isCertifiableName(new URL(parsed[key]).hostname));
  if (unnamed.length > 0) {
    throw new ConfigError(
      unnamed.map((key) => `${key === 'publicUrl' ? 'PUBLIC_URL' : 'RUNTIME_URL'}: CREWCLAW_TLS=acme needs a host name that resolves to this machine from the internet, got ${parsed[key]} (use CREWCLAW_TLS=file with your own certificate for an IP address or a local name)`),
    );
  }
  return Object.freeze({
    ...parsed,
    logFormat: parsed.logFormat ?? (parsed.nodeEnv === 'production' ? 'json' : 'pretty'),
    databaseFile: path.join(parsed.dataDir, 'crewclaw.db'),
    litellmConfigPath: parsed.litellmConfigFile ?? path.join(parsed.dataDir, 'litellm', 'config.yaml'),
    providerKeysInEnv: new Set(PROVIDER_KEY_ENV_VARS.filter((name) => Boolean(env[name]))),
  });
}
