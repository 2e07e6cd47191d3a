/**
 * The LiteLLM sidecar's image (litellm/, built by scripts/build-images.sh from PyPI, pinned by hash),
 * run hardened the way the platform runs its sidecars: read-only root, no capabilities, no new
 * privileges, an unprivileged user. It must come up healthy without reaching the internet (its price
 * list is the packaged one), route to a provider (our stand-in upstream) with the provider key from its
 * configuration, stream with the usage chunk the control plane meters by, and refuse callers without
 * its master key.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PREFIX, TEST_LABEL, docker, freePort, until } from './support/docker-platform';
import { STAND_IN_USAGE, STAND_IN_WORDS, type OpenAiStandIn, startOpenAiStandIn } from '../support/openai-stand-in';

jest.setTimeout(180_000);

const IMAGE = process.env.CREWCLAW_TEST_LITELLM_IMAGE ?? 'crewclaw/litellm:dev';
const MASTER_KEY = 'sk-master-for-this-test';
const PROVIDER_KEY = 'sk-provider-never-shown';

describe('the LiteLLM sidecar image', () => {
  const name = `${PREFIX}-litellm`;
  let standIn: OpenAiStandIn;
  let dir: string;
  let base: string;

  const call = (pathname: string, body?: unknown, key = MASTER_KEY) =>
    fetch(`${base}${pathname}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  beforeAll(async () => {
    // Docker's bridge gateway: the address containers reach the host at, and nothing outside this machine.
    const gateway = docker('network', 'inspect', 'bridge', '-f', '{{(index .IPAM.Config 0).Gateway}}');
    standIn = await startOpenAiStandIn(gateway);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crewclaw-litellm-'));
    fs.writeFileSync(
      path.join(dir, 'config.yaml'),
      [
        'model_list:',
        '  - model_name: team-default',
        '    litellm_params:',
        '      model: openai/stand-in',
        `      api_base: http://host.docker.internal:${standIn.port}/v1`,
        `      api_key: ${PROVIDER_KEY}`,
        'general_settings:',
        `  master_key: ${MASTER_KEY}`,
        '',
      ].join('\n'),
    );
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(path.join(dir, 'config.yaml'), 0o644);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    docker(
      'run', '-d', '--name', name, '--label', `org.crewclaw.platform=${PREFIX}`, '--label', `${TEST_LABEL}=1`,
      '--read-only', '--tmpfs', '/tmp', '--tmpfs', '/home/litellm', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges:true',
      '--add-host', 'host.docker.internal:host-gateway', '-p', `127.0.0.1:${port}:4000`,
      '-v', `${path.join(dir, 'config.yaml')}:/etc/litellm/config.yaml:ro`, IMAGE,
    );
  });

  afterAll(async () => {
    docker('rm', '-f', name);
    await standIn?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('comes up healthy by its own healthcheck, as an unprivileged user', async () => {
    await until('LiteLLM healthy', () => (docker('inspect', '-f', '{{.State.Health.Status}}', name) === 'healthy' ? true : null), 120_000, { intervalMs: 1000 });
    expect(docker('inspect', '-f', '{{.Config.User}}', name)).toBe('litellm');
    expect(docker('exec', name, 'id', '-u')).toBe('65533');
  });

  it('answers a chat through the provider, with the provider key sent there and nowhere else', async () => {
    const response = await call('/v1/chat/completions', { model: 'team-default', messages: [{ role: 'user', content: 'hi' }] });
    const text = await response.text();
    expect(response.status).toBe(200);
    const body = JSON.parse(text) as { choices: { message: { content: string } }[]; usage: typeof STAND_IN_USAGE };
    expect(body.choices[0]?.message.content).toBe(STAND_IN_WORDS.join(''));
    expect(body.usage).toMatchObject(STAND_IN_USAGE);
    expect(standIn.requests.at(-1)?.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    expect(text).not.toContain(PROVIDER_KEY);
    expect(docker('logs', name)).not.toContain(PROVIDER_KEY);
  });

  it('streams the answer and ends with the usage chunk when asked for it', async () => {
    const response = await call('/v1/chat/completions', { model: 'team-default', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await response.text()).split('\n\n').filter((line) => line.startsWith('data: ')).map((line) => line.slice(6));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data) as { choices: { delta?: { content?: string } }[]; usage?: typeof STAND_IN_USAGE });
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe(STAND_IN_WORDS.join(''));
    expect(chunks.at(-1)?.usage).toMatchObject(STAND_IN_USAGE);
  });

  it('refuses a caller without its master key', async () => {
    const response = await call('/v1/chat/completions', { model: 'team-default', messages: [{ role: 'user', content: 'hi' }] }, 'sk-wrong');
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(await response.text()).not.toContain(STAND_IN_WORDS.join(''));
  });
});
