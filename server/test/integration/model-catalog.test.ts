/**
 * The model catalog as an admin sets it up through the API, and what each user then gets: provider
 * keys go into LiteLLM's configuration file and nowhere else (no answer, no audit row, no log line, no
 * database row, no runtime), models reach exactly the users allowed them, and bad input gets field errors.
 */
import fs from 'node:fs';
import { parse } from 'yaml';
import { startOpenAiStandIn, type OpenAiStandIn } from '../support/openai-stand-in';
import { startHealthyDriver } from './support/healthy-driver';
import { offerModels } from './support/model-catalog';
import { auditActions, createUser, setupAdmin, startTestPlatform, type SignedIn, type TestPlatform } from './support/test-platform';

const KEY = 'sk-live-provider-key-0123456789abcdef';

describe('the model catalog', () => {
  let standIn: OpenAiStandIn;
  let healthy: Awaited<ReturnType<typeof startHealthyDriver>>;
  let test: TestPlatform;
  let admin: SignedIn;
  let alice: SignedIn;
  let bob: SignedIn;

  const configFile = () => parse(fs.readFileSync(test.config.litellmConfigPath, 'utf8')) as {
    model_list: { model_name: string; litellm_params: Record<string, unknown> }[];
    environment_variables?: Record<string, string>;
    general_settings: { master_key: string };
  };
  const post = (who: SignedIn, path: string, body: unknown) => who.agent.post(path).set('X-CSRF-Token', who.csrfToken).send(body as object);
  const patch = (who: SignedIn, path: string, body: unknown) => who.agent.patch(path).set('X-CSRF-Token', who.csrfToken).send(body as object);
  const modelsOf = async (who: string) =>
    ((await test.request().get('/v1/models').set('Authorization', `Bearer ${healthy.driver.modelToken(who)}`).expect(200)).body as { data: { id: string }[] }).data.map((model) => model.id);

  beforeAll(async () => {
    standIn = await startOpenAiStandIn();
    healthy = await startHealthyDriver();
    test = startTestPlatform({ LITELLM_URL: `http://127.0.0.1:${standIn.port}`, OPENAI_API_KEY: 'sk-from-dotenv-0123456789' }, { driver: healthy.driver });
    admin = await setupAdmin(test);
    alice = await createUser(test, admin, 'alice');
    bob = await createUser(test, admin, 'bob');
  });

  afterAll(async () => {
    test.close();
    await healthy.close();
    await standIn.close();
  });

  it('keeps a provider key typed by an admin in LiteLLM’s configuration only, and shows its last four characters', async () => {
    const created = await post(admin, '/api/admin/model-providers', { name: 'OpenAI', kind: 'openai', apiKey: KEY }).expect(201);
    expect(created.body.provider).toMatchObject({ name: 'OpenAI', kind: 'openai', key: { source: 'stored', hint: '…cdef', envVar: 'OPENAI_API_KEY', envPresent: true } });
    const providerId = created.body.provider.id as number;
    await post(admin, '/api/admin/models', { name: 'gpt-4o-mini', providerId, upstreamModel: 'gpt-4o-mini', inputPricePerMTok: 0.15, outputPricePerMTok: 0.6 }).expect(201);

    const config = configFile();
    expect(config.environment_variables).toEqual({ [`CREWCLAW_PROVIDER_${providerId}_API_KEY`]: KEY });
    expect(config.model_list).toEqual([
      {
        model_name: 'gpt-4o-mini',
        litellm_params: { model: 'openai/gpt-4o-mini', api_key: KEY, input_cost_per_token: 0.15e-6, output_cost_per_token: 0.6e-6 },
      },
    ]);
    expect(config.general_settings.master_key).toMatch(/^\S{32,}$/);
    expect(fs.statSync(test.config.litellmConfigPath).mode & 0o777).toBe(0o600);

    const everywhere = [
      JSON.stringify((await admin.agent.get('/api/admin/models').expect(200)).body),
      JSON.stringify(auditActions(test)),
      JSON.stringify(test.database.sqlite.prepare('SELECT * FROM audit_log').all()),
      JSON.stringify(test.database.sqlite.prepare('SELECT * FROM model_providers').all()),
      test.logs.join('\n'),
    ];
    for (const text of everywhere) expect(text).not.toContain(KEY.slice(3, 20));

    // A key replaced is replaced; a key removed falls back to the .env variable LiteLLM reads.
    await patch(admin, `/api/admin/model-providers/${providerId}`, { apiKey: 'sk-another-key-9876' }).expect(200);
    expect(configFile().environment_variables).toEqual({ [`CREWCLAW_PROVIDER_${providerId}_API_KEY`]: 'sk-another-key-9876' });
    const removed = await patch(admin, `/api/admin/model-providers/${providerId}`, { apiKey: null }).expect(200);
    expect(removed.body.provider.key).toEqual({ source: 'env', hint: null, envVar: 'OPENAI_API_KEY', envPresent: true });
    expect(configFile().environment_variables).toBeUndefined();
    // No key in the file: LiteLLM reads OPENAI_API_KEY itself.
    expect(configFile().model_list[0]?.litellm_params.api_key).toBeUndefined();
    expect(JSON.stringify(configFile())).not.toContain('sk-another-key');
    expect(auditActions(test).map((row) => row.action)).toEqual(expect.arrayContaining(['model_provider.create', 'model.create', 'model_provider.update']));
  });

  it('keeps the master key and the stored keys across a restart of the control plane', async () => {
    const provider = await post(admin, '/api/admin/model-providers', { name: 'Router', kind: 'openrouter', apiKey: 'sk-or-kept-across-restarts' }).expect(201);
    const before = configFile();
    const again = startTestPlatform({ LITELLM_URL: `http://127.0.0.1:${standIn.port}` }, { driver: healthy.driver, dataDir: test.dataDir });
    try {
      const after = configFile();
      expect(after.general_settings.master_key).toBe(before.general_settings.master_key);
      expect(after.environment_variables?.[`CREWCLAW_PROVIDER_${provider.body.provider.id}_API_KEY`]).toBe('sk-or-kept-across-restarts');
    } finally {
      again.close({ keepData: true });
    }
    await admin.agent.delete(`/api/admin/model-providers/${provider.body.provider.id}`).set('X-CSRF-Token', admin.csrfToken).expect(204);
    expect(JSON.stringify(configFile())).not.toContain('sk-or-kept-across-restarts');
  });

  it('offers each user exactly the models they may use, by role and by name', async () => {
    const { modelIds } = await offerModels(admin, ['team-model', 'admins-model', 'bobs-model'], {
      baseUrl: `http://127.0.0.1:${standIn.port}/v1`,
      models: { 'admins-model': { access: 'admins' }, 'bobs-model': { access: 'listed', allowedUserIds: [bob.user.id] } },
    });
    // A server of our own without a key gets a placeholder, never the OpenAI key LiteLLM has from .env.
    expect(configFile().model_list.find((model) => model.model_name === 'team-model')?.litellm_params.api_key).toBe('no-key');
    await post(admin, '/api/runtime/start', {}).expect(200);
    await post(alice, '/api/runtime/start', {}).expect(200);
    await post(bob, '/api/runtime/start', {}).expect(200);
    expect(await modelsOf('alice')).toEqual(['default', 'gpt-4o-mini', 'team-model']);
    expect(await modelsOf('bob')).toEqual(['default', 'bobs-model', 'gpt-4o-mini', 'team-model']);
    expect(await modelsOf('admin')).toEqual(['default', 'admins-model', 'gpt-4o-mini', 'team-model']);
    // Alice calling Bob's model is told what she may use instead.
    const refused = await test
      .request()
      .post('/v1/chat/completions')
      .set('Authorization', `Bearer ${healthy.driver.modelToken('alice')}`)
      .send({ model: 'bobs-model', messages: [{ role: 'user', content: 'hi' }] })
      .expect(404);
    expect(refused.body.error.message).toBe('The model "bobs-model" is not available to you. Models you can use: gpt-4o-mini, team-model.');

    // Her runtime was made with her list in its openclaw.json ("default" first).
    const env = healthy.driver.containers.get('alice')?.env ?? {};
    const openclaw = JSON.parse(Object.values(env)[0] ?? '{}') as { models: { providers: { crewclaw: { models: { id: string; name: string }[] } } } };
    expect(openclaw.models.providers.crewclaw.models.map((model) => model.id)).toEqual(['default', 'gpt-4o-mini', 'team-model']);
    expect(openclaw.models.providers.crewclaw.models[0]?.name).toBe('Default (gpt-4o-mini)');

    // Turned off: gone from everyone's list, and from LiteLLM's configuration.
    await patch(admin, `/api/admin/models/${modelIds['team-model']}`, { enabled: false }).expect(200);
    expect(await modelsOf('alice')).toEqual(['default', 'gpt-4o-mini']);
    expect(configFile().model_list.map((model) => model.model_name)).not.toContain('team-model');
    // The default moved to another model: "default" follows without any runtime change.
    await patch(admin, `/api/admin/models/${modelIds['admins-model']}`, { isDefault: true }).expect(200);
    const models = ((await admin.agent.get('/api/admin/models').expect(200)).body as { models: { name: string; isDefault: boolean }[] }).models;
    expect(models.filter((model) => model.isDefault).map((model) => model.name)).toEqual(['admins-model']);
  });

  it('gives running runtimes their new model list, without a restart, each their own', () => {
    const lastPushTo = (username: string) =>
      JSON.parse(healthy.driver.execs.filter((exec) => exec.username === username && exec.command.includes('--stdin')).at(-1)?.stdin ?? '{}') as {
        models?: { providers: { crewclaw: { models: { id: string }[] } } };
      };
    const idsOf = (username: string) => lastPushTo(username).models?.providers.crewclaw.models.map((model) => model.id);
    // The last change (the default moved) reached every running runtime, each with their own list.
    expect(idsOf('bob')).toEqual(['default', 'bobs-model', 'gpt-4o-mini']);
    expect(idsOf('alice')).toEqual(['default', 'gpt-4o-mini']);
    expect(idsOf('admin')).toEqual(['default', 'admins-model', 'gpt-4o-mini']);
  });

  it('writes names LiteLLM reads as strings, keeps .env keys to their own provider, and a stored key to its address', async () => {
    const own = await post(admin, '/api/admin/model-providers', { name: 'Azure-ish', kind: 'openai', baseUrl: 'https://openai-proxy.example/v1' }).expect(201);
    const ownId = own.body.provider.id as number;
    await post(admin, '/api/admin/models', { name: 'on', providerId: ownId, upstreamModel: 'x' }).expect(201);
    await post(admin, '/api/admin/models', { name: '2024-05-13', providerId: ownId, upstreamModel: 'x', access: 'listed', allowedUserIds: [bob.user.id, bob.user.id] }).expect(201);
    // Read as LiteLLM's PyYAML does (YAML 1.1): still strings.
    const yaml11 = parse(fs.readFileSync(test.config.litellmConfigPath, 'utf8'), { version: '1.1' }) as { model_list: { model_name: unknown; litellm_params: { api_key?: string } }[] };
    const names = yaml11.model_list.map((model) => model.model_name);
    expect(names).toEqual(expect.arrayContaining(['on', '2024-05-13']));
    // OpenAI's kind at another address, without a key of its own: never the OPENAI_API_KEY from .env.
    expect(yaml11.model_list.find((model) => model.model_name === 'on')?.litellm_params.api_key).toBe('no-key');
    const models = ((await admin.agent.get('/api/admin/models').expect(200)).body as { models: { name: string; allowedUserIds: number[] }[] }).models;
    expect(models.find((model) => model.name === '2024-05-13')?.allowedUserIds).toEqual([bob.user.id]);

    // A stored key is not sent to a new address unless it is typed again.
    await patch(admin, `/api/admin/model-providers/${ownId}`, { apiKey: 'sk-proxy-key-123456' }).expect(200);
    const moved = await patch(admin, `/api/admin/model-providers/${ownId}`, { baseUrl: 'https://elsewhere.example/v1' }).expect(400);
    expect(moved.body.error.fields).toEqual([{ field: 'apiKey', message: expect.stringContaining('again') as unknown }]);
    await patch(admin, `/api/admin/model-providers/${ownId}`, { baseUrl: 'https://elsewhere.example/v1', apiKey: 'sk-elsewhere-key-98765' }).expect(200);
    for (const name of ['on', '2024-05-13']) {
      const { models: all } = (await admin.agent.get('/api/admin/models').expect(200)).body as { models: { id: number; name: string }[] };
      await admin.agent.delete(`/api/admin/models/${all.find((model) => model.name === name)!.id}`).set('X-CSRF-Token', admin.csrfToken).expect(204);
    }
    await admin.agent.delete(`/api/admin/model-providers/${ownId}`).set('X-CSRF-Token', admin.csrfToken).expect(204);
  });

  it.each([
    ['a key that is a reference to LiteLLM’s environment', '/api/admin/model-providers', { name: 'X', kind: 'openai', apiKey: 'os.environ/LITELLM_MASTER_KEY' }, 400, 'apiKey'],
    ['an unknown kind', '/api/admin/model-providers', { name: 'X', kind: 'skynet' }, 400, 'kind'],
    ['a base URL that is not http', '/api/admin/model-providers', { name: 'X', kind: 'openai_compatible', baseUrl: 'file:///etc/passwd' }, 400, 'baseUrl'],
    ['no base URL where one is needed', '/api/admin/model-providers', { name: 'X', kind: 'openai_compatible' }, 400, 'baseUrl'],
    ['a base URL where the provider has its own', '/api/admin/model-providers', { name: 'X', kind: 'openrouter', baseUrl: 'http://example.com' }, 400, 'baseUrl'],
    ['a key with a newline', '/api/admin/model-providers', { name: 'X', kind: 'openai', apiKey: 'sk-abc\ndef-ghi' }, 400, 'apiKey'],
    ['a provider name taken in another case', '/api/admin/model-providers', { name: 'openai', kind: 'openai' }, 409, 'name'],
    ['a model called "default"', '/api/admin/models', { name: 'Default', providerId: 1, upstreamModel: 'x' }, 400, 'name'],
    ['a model name with a slash', '/api/admin/models', { name: 'a/b', providerId: 1, upstreamModel: 'x' }, 400, 'name'],
    ['a model name taken in another case', '/api/admin/models', { name: 'GPT-4O-MINI', providerId: 1, upstreamModel: 'x' }, 409, 'name'],
    ['a provider that does not exist', '/api/admin/models', { name: 'm1', providerId: 999, upstreamModel: 'x' }, 400, 'providerId'],
    ['users that do not exist', '/api/admin/models', { name: 'm2', providerId: 1, upstreamModel: 'x', access: 'listed', allowedUserIds: [999] }, 400, 'allowedUserIds'],
    ['a price as a string', '/api/admin/models', { name: 'm3', providerId: 1, upstreamModel: 'x', inputPricePerMTok: '1' }, 400, 'inputPricePerMTok'],
  ])('refuses %s with a field error', async (_label, path, body, status, field) => {
    const response = await post(admin, path, body).expect(status);
    expect(response.body.error.fields).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
  });

  it('refuses to delete a provider models use, and lets only admins near the catalog', async () => {
    const response = await admin.agent.delete('/api/admin/model-providers/1').set('X-CSRF-Token', admin.csrfToken).expect(409);
    expect(response.body.error).toMatchObject({ code: 'provider_in_use', message: expect.stringContaining('gpt-4o-mini') as unknown });
    await alice.agent.get('/api/admin/models').expect(403);
    await post(alice, '/api/admin/model-providers', { name: 'Mine', kind: 'openai', apiKey: KEY }).expect(403);
    await admin.agent.get('/api/admin/models/abc').expect(404);
    await patch(admin, '/api/admin/models/99999', { enabled: false }).expect(404);
  });

  it('gives a runtime started again today’s list, keeping its container and token', async () => {
    await post(alice, '/api/runtime/stop', {}).expect(200);
    const token = healthy.driver.modelToken('alice');
    const { providers } = (await admin.agent.get('/api/admin/models').expect(200)).body as { providers: { id: number; name: string }[] };
    await post(admin, '/api/admin/models', { name: 'while-stopped', providerId: providers.find((provider) => provider.name === 'Stand-in')!.id, upstreamModel: 'x' }).expect(201);
    await post(alice, '/api/runtime/start', {}).expect(200);
    expect(healthy.driver.modelToken('alice')).toBe(token);
    const pushed = JSON.parse(healthy.driver.execs.filter((exec) => exec.username === 'alice').at(-1)?.stdin ?? '{}') as { models: { providers: { crewclaw: { models: { id: string }[] } } } };
    expect(pushed.models.providers.crewclaw.models.map((model) => model.id)).toContain('while-stopped');
  });

  it('checks a model with a one-token call through LiteLLM', async () => {
    const { models } = (await admin.agent.get('/api/admin/models').expect(200)).body as { models: { id: number; name: string }[] };
    const team = models.find((model) => model.name === 'bobs-model')!;
    const checked = await post(admin, `/api/admin/models/${team.id}/check`, {}).expect(200);
    expect(checked.body).toEqual({ ok: true, latencyMs: expect.any(Number) as unknown });
    expect(standIn.requests.at(-1)?.body).toMatchObject({ model: 'bobs-model', max_tokens: 1 });
  });
});
