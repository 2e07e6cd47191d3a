import fs from 'node:fs';
import path from 'node:path';
import { PROVIDER_KEY_ENV_VARS } from '../models/provider-kinds';
import { ConfigError, loadConfig } from './config';
import { deploymentSettings } from './settings';

describe('loadConfig', () => {
  it('gives every setting its documented default', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      nodeEnv: 'production',
      logFormat: 'json',
      port: 3000,
      host: '0.0.0.0',
      trustProxy: false,
      sessionSecret: undefined,
      databaseFile: 'data/crewclaw.db',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads readable logs in development unless told otherwise', () => {
    expect(loadConfig({ NODE_ENV: 'development' }).logFormat).toBe('pretty');
    expect(loadConfig({ NODE_ENV: 'development', LOG_FORMAT: 'json' }).logFormat).toBe('json');
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '' }).port).toBe(3000);
  });

  it.each([
    ['false', false],
    ['true', true],
    ['2', 2],
    ['loopback, 10.0.0.0/8', ['loopback', '10.0.0.0/8']],
  ])('parses TRUST_PROXY=%s', (raw, parsed) => {
    expect(loadConfig({ TRUST_PROXY: raw }).trustProxy).toEqual(parsed);
  });

  it('strips a trailing slash from PUBLIC_URL', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://crew.example.com/' }).publicUrl).toBe('https://crew.example.com');
  });

  it('refuses a runtime origin that is the platform\'s own or has a path', () => {
    expect(() => loadConfig({ PUBLIC_URL: 'http://localhost:8080', RUNTIME_URL: 'http://localhost:8080/' })).toThrow(/RUNTIME_URL: must be another origin/);
    expect(() => loadConfig({ RUNTIME_URL: 'http://localhost:8081/rt' })).toThrow(/RUNTIME_URL: an origin only/);
    expect(loadConfig({ PUBLIC_URL: 'https://crew.example.com', RUNTIME_URL: 'https://crew.example.com:8443/' }).runtimeUrl).toBe('https://crew.example.com:8443');
  });

  it('takes a wildcard RUNTIME_URL as a host per user, and refuses one that cannot work', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://crew.example.com', RUNTIME_URL: 'https://*.crew.example.com', CREWCLAW_TLS: 'file' }).runtimeUrl).toBe('https://*.crew.example.com');
    expect(loadConfig({ PUBLIC_URL: 'http://localhost:8080', RUNTIME_URL: 'http://*.localhost:8080' }).runtimeUrl).toBe('http://*.localhost:8080');
    expect(() => loadConfig({ PUBLIC_URL: 'https://app.crew.example.com', RUNTIME_URL: 'https://*.crew.example.com' })).toThrow(/is one of the runtime hosts/);
    expect(() => loadConfig({ PUBLIC_URL: 'https://crew.example.com', RUNTIME_URL: 'https://*.*.example.com' })).toThrow(/whole first label/);
    expect(() => loadConfig({ PUBLIC_URL: 'https://crew.example.com', RUNTIME_URL: 'https://*.crew.example.com', CREWCLAW_TLS: 'acme' })).toThrow(/CREWCLAW_TLS=file with a certificate for both crew.example.com and \*.crew.example.com/);
  });

  it('names every bad variable at once, with its help, and never echoes a secret', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: '70000', PUBLIC_URL: 'ftp://x', TRUST_PROXY: 'some proxy', SESSION_SECRET: 'hunter2' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.map((problem) => problem.split(':')[0])).toEqual(['PORT', 'PUBLIC_URL', 'TRUST_PROXY', 'SESSION_SECRET']);
    expect(problems.join('\n')).toContain('(got "70000")');
    expect(problems.join('\n')).toContain('TCP port the control plane listens on.');
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('wants https addresses when HTTPS is on in Traefik, and names each one that is not', () => {
    expect(() => loadConfig({ CREWCLAW_TLS: 'acme', PUBLIC_URL: 'http://crew.example.com', RUNTIME_URL: 'https://crew.example.com:8444' })).toThrow(
      /PUBLIC_URL: must start with https:\/\/ when CREWCLAW_TLS is acme/,
    );
    expect(() => loadConfig({ CREWCLAW_TLS: 'file', PUBLIC_URL: 'https://crew.example.com' })).toThrow(/RUNTIME_URL: must start with https:/);
    expect(() => loadConfig({ CREWCLAW_TLS: 'on' })).toThrow(/CREWCLAW_TLS/);
    // Let's Encrypt certifies public names only.
    expect(() => loadConfig({ CREWCLAW_TLS: 'acme', PUBLIC_URL: 'https://192.168.1.20', RUNTIME_URL: 'https://192.168.1.20:8444' })).toThrow(/PUBLIC_URL: CREWCLAW_TLS=acme needs a host name/);
    expect(() => loadConfig({ CREWCLAW_TLS: 'acme', PUBLIC_URL: 'https://crew.example.com', RUNTIME_URL: 'https://localhost:8444' })).toThrow(/RUNTIME_URL: CREWCLAW_TLS=acme/);
    expect(loadConfig({ CREWCLAW_TLS: 'acme', PUBLIC_URL: 'https://crew.example.com', RUNTIME_URL: 'https://crew.example.com:8444' }).tlsMode).toBe('acme');
    expect(loadConfig({ CREWCLAW_TLS: 'file', PUBLIC_URL: 'https://crew.example.com', RUNTIME_URL: 'https://crew.example.com:8444' }).tlsMode).toBe('file');
  });
});

describe('provider keys from .env', () => {
  it('are documented, handed to LiteLLM by compose, and seen by the control plane by name only', () => {
    const documented = deploymentSettings.map((setting) => setting.env);
    const compose = fs.readFileSync(path.join(__dirname, '../../../compose.yaml'), 'utf8');
    for (const variable of PROVIDER_KEY_ENV_VARS) {
      expect(documented).toContain(variable);
      expect(compose).toContain(`${variable}: \${${variable}:-}`);
    }
    const config = loadConfig({ OPENAI_API_KEY: 'sk-from-env-0123', GROQ_API_KEY: '' });
    expect([...config.providerKeysInEnv]).toEqual(['OPENAI_API_KEY']);
    expect(JSON.stringify(config)).not.toContain('sk-from-env-0123');
  });
});

