/**
 * The model layer as users run it: compose's LiteLLM behind the control plane, our stand-in upstream as
 * the provider, and a real runtime. What an admin types reaches LiteLLM (restarted for it) and the
 * running runtime's openclaw.json; the provider key reaches neither a runtime nor a log; a runtime cannot
 * reach LiteLLM at all; and a LiteLLM restarted, or a runtime killed, mid-answer ends cleanly and metered.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { startOpenAiStandIn, STAND_IN_WORDS, type OpenAiStandIn } from '../support/openai-stand-in';
import { type HttpStack, type Session, call, setUpUsers, until, upHttpStack } from './support/compose-stack';
import { PREFIX, connectFrom, containerName, docker } from './support/docker-platform';

const PROVIDER_KEY = 'sk-provider-secret-7f3a9c1e5b2d4068';
const LITELLM = `${PREFIX}-litellm`;

jest.setTimeout(300_000);

/** `docker exec`, without blocking this process: the stand-in that answers it runs here. */
const dockerExec = async (...args: string[]) => (await promisify(execFile)('docker', ['exec', ...args], { encoding: 'utf8' })).stdout;

describe('models through the whole stack', () => {
  let http: HttpStack;
  let admin: Session;
  let bob: Session;
  let standIn: OpenAiStandIn;
  let token: string;

  const json = async <T>(response: Response, status = 200): Promise<T> => {
    const text = await response.text();
    if (response.status !== status) throw new Error(`expected ${status}, got ${response.status}: ${text}`);
    return JSON.parse(text) as T;
  };
  const send = (path: string, session: Session, method: string, body: unknown) =>
    call(`${http.platformUrl}${path}`, { method, session, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const openclawJson = () => JSON.parse(docker('exec', containerName('bob'), 'cat', '/home/node/.openclaw/openclaw.json')) as { models: { providers: { crewclaw: { apiKey: string; baseUrl: string; models: { id: string }[] } } } };
  const gatewayState = async () => (await json<{ gateway: { state: string; message: string | null } }>(await call(`${http.platformUrl}/api/admin/models`, { session: admin }))).gateway;
  const usageRows = async () => (await json<{ rows: { username: string; model: string; requests: number; errors: number; promptTokens: number; completionTokens: number }[] }>(await call(`${http.platformUrl}/api/admin/usage`, { session: admin }))).rows;
  /** A streamed chat made from inside bob's runtime, as its OpenClaw makes them; resolves with what arrived. */
  const streamFromRuntime = (model: string) =>
    `const c = require('/home/node/.openclaw/openclaw.json').models.providers.crewclaw;
fetch(c.baseUrl + '/chat/completions', { method: 'POST', headers: { Authorization: 'Bearer ' + c.apiKey, 'Content-Type': 'application/json' },
  body: JSON.stringify({ model: ${JSON.stringify(model)}, stream: true, messages: [{ role: 'user', content: 'Say hello.' }] }) })
  .then(async (r) => { process.stdout.write(r.status + '\\n'); for await (const part of r.body) process.stdout.write(part); })
  .catch((e) => { process.stdout.write('failed: ' + e.message); process.exit(3); });`;

  beforeAll(async () => {
    http = await upHttpStack();
    ({ admin, bob } = await setUpUsers(http.platformUrl));
    // The stand-in listens where LiteLLM, on its egress network, reaches the host.
    const gateway = docker('network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', `${PREFIX}_models-egress`);
    standIn = await startOpenAiStandIn(gateway);
    const provider = await json<{ provider: { id: number } }>(
      await send('/api/admin/model-providers', admin, 'POST', { name: 'Stand-in', kind: 'openai_compatible', baseUrl: `http://${gateway}:${standIn.port}/v1`, apiKey: PROVIDER_KEY }),
      201,
    );
    for (const name of ['stand-in', 'stand-in-crawl']) {
      await json(await send('/api/admin/models', admin, 'POST', { name, providerId: provider.provider.id, upstreamModel: name }), 201);
    }
    await json(await call(`${http.platformUrl}/api/runtime/start`, { method: 'POST', session: bob, timeoutMs: 240_000 }));
    await until('LiteLLM back with the models', async () => ((await gatewayState()).state === 'ready' ? true : null), 180_000);
    token = openclawJson().models.providers.crewclaw.apiKey;
  });

  afterAll(async () => {
    http?.stack.down();
    await standIn?.close();
  });

  it('answers a chat made from inside a runtime, through the control plane and LiteLLM, and meters it', async () => {
    const output = await dockerExec(containerName('bob'), 'node', '-e', streamFromRuntime('default'));
    if (!output.startsWith('200')) console.log(output, http.stack.compose('logs', '--no-color', '--tail', '80', 'litellm', 'control-plane'));
    const [status, ...body] = output.split('\n');
    expect(status).toBe('200');
    const content = body
      .join('\n')
      .split('\n\n')
      .filter((event) => event.startsWith('data: {'))
      .map((event) => (JSON.parse(event.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? '')
      .join('');
    expect(content).toBe(STAND_IN_WORDS.join(''));
    // LiteLLM called the provider with the key the admin typed; the runtime's token went no further than us.
    expect(standIn.requests.at(-1)?.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    expect(await usageRows()).toEqual(expect.arrayContaining([expect.objectContaining({ username: 'bob', model: 'stand-in', requests: 1, errors: 0 })]));
  });

  it('keeps LiteLLM out of a runtime’s reach, by name and by address', () => {
    const address = docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${PREFIX}_models").IPAddress}}`, LITELLM);
    expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(connectFrom('bob', address, 4000)).toBe(7);
    expect(connectFrom('bob', 'litellm', 4000)).toBe(7);
    expect(connectFrom('bob', LITELLM, 4000)).toBe(7);
  });

  it('shows the provider key to no runtime, no log and no API answer', async () => {
    const places = [
      docker('inspect', containerName('bob')),
      docker('exec', containerName('bob'), 'sh', '-c', 'cat /home/node/.openclaw/openclaw.json; env'),
      http.stack.compose('logs', '--no-color', 'control-plane', 'litellm', 'proxy'),
      await (await call(`${http.platformUrl}/api/admin/models`, { session: admin })).text(),
      await (await call(`${http.platformUrl}/api/audit`, { session: admin })).text(),
    ];
    for (const text of places) expect(text).not.toContain(PROVIDER_KEY.slice(3));
    // It is in LiteLLM's configuration, readable by LiteLLM's user only.
    expect(docker('exec', LITELLM, 'stat', '-c', '%a %u', '/etc/litellm/crewclaw/config.yaml')).toBe('600 65533');
    expect(docker('exec', LITELLM, 'cat', '/etc/litellm/crewclaw/config.yaml')).toContain(PROVIDER_KEY);
  });

  it('gives a running runtime a new model in its openclaw.json without restarting it', async () => {
    const startedAt = docker('inspect', '-f', '{{.State.StartedAt}}', containerName('bob'));
    const providers = await json<{ providers: { id: number }[] }>(await call(`${http.platformUrl}/api/admin/models`, { session: admin }));
    await json(await send('/api/admin/models', admin, 'POST', { name: 'late-model', providerId: providers.providers[0]!.id, upstreamModel: 'stand-in' }), 201);
    await until('the new model in the running runtime', () => Promise.resolve(openclawJson().models.providers.crewclaw.models.some((model) => model.id === 'late-model') ? true : null), 30_000);
    expect(docker('inspect', '-f', '{{.State.StartedAt}}', containerName('bob'))).toBe(startedAt);
    expect(openclawJson().models.providers.crewclaw.apiKey).toBe(token);
    await until('LiteLLM back with the new model', async () => ((await gatewayState()).state === 'ready' ? true : null), 180_000);
  });

  it('ends a stream cleanly and meters it when LiteLLM restarts mid-answer', async () => {
    const before = (await usageRows()).find((row) => row.model === 'stand-in-crawl')?.requests ?? 0;
    const response = await fetch(`${http.platformUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'stand-in-crawl', stream: true, messages: [{ role: 'user', content: 'Say hello.' }] }),
    });
    expect(response.status).toBe(200);
    // The first words have arrived: now LiteLLM goes away under the answer.
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value);
    expect(text).toContain('Hello');
    docker('restart', '-t', '0', LITELLM);
    for (let part = await reader.read(); !part.done; part = await reader.read()) text += decoder.decode(part.value);
    const last = text.trim().split('\n\n').at(-1) ?? '';
    expect(JSON.parse(last.replace(/^data: /, ''))).toMatchObject({ error: { code: 'upstream_cut_off' } });
    await until('the call metered', async () => ((await usageRows()).find((row) => row.model === 'stand-in-crawl' && row.requests === before + 1 && row.errors >= 1) ? true : null), 10_000);
    await until('LiteLLM back', async () => ((await gatewayState()).state === 'ready' ? true : null), 180_000);
  });

  it('meters a call whose runtime was killed mid-answer, once', async () => {
    await until('LiteLLM answering', async () => ((await gatewayState()).state === 'ready' ? true : null), 180_000);
    const before = (await usageRows()).find((row) => row.model === 'stand-in-crawl')?.requests ?? 0;
    const seen = standIn.requests.filter((request) => request.body.model === 'stand-in-crawl').length;
    const caller = spawn('docker', ['exec', containerName('bob'), 'node', '-e', streamFromRuntime('stand-in-crawl')], { stdio: 'ignore' });
    const calling = new Promise((resolve) => caller.once('exit', resolve));
    await until('the answer under way', () => Promise.resolve(standIn.requests.filter((request) => request.body.model === 'stand-in-crawl').length > seen ? true : null), 30_000);
    docker('kill', containerName('bob'));
    await calling;
    await until('the call metered', async () => ((await usageRows()).find((row) => row.model === 'stand-in-crawl' && row.requests === before + 1) ? true : null), 15_000);
    // Once: the upstream's end after the client left adds nothing.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const after = (await usageRows()).find((row) => row.model === 'stand-in-crawl');
    expect(after?.requests).toBe(before + 1);
    // Leaving early is not free: the prompt is counted.
    expect(after?.promptTokens).toBeGreaterThan(0);
  });
});
