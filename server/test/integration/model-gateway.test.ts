/**
 * The model endpoint (/v1) on the real app, the way a runtime's OpenClaw calls it: its runtime token as
 * the Bearer key, OpenAI's request and answer shapes, streams passed through as they come, and every
 * call metered. Behind it, our OpenAI-compatible stand-in plays LiteLLM (the same API; the real LiteLLM
 * in front of it is server/test/docker/litellm-image.test.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { STAND_IN_COST_USD, STAND_IN_USAGE, STAND_IN_WORDS, type OpenAiStandIn, startOpenAiStandIn } from '../support/openai-stand-in';
import { startHealthyDriver } from './support/healthy-driver';
import { offerModels } from './support/model-catalog';
import { createUser, setupAdmin, startTestPlatform, type SignedIn, type TestPlatform } from './support/test-platform';

const MASTER_KEY = 'sk-litellm-master-for-tests';

describe('the model endpoint (/v1)', () => {
  let standIn: OpenAiStandIn;
  let healthy: Awaited<ReturnType<typeof startHealthyDriver>>;
  let test: TestPlatform;
  let alice: SignedIn;
  let token: string;
  let server: http.Server;
  let port: number;

  const meteredCalls = () =>
    test.database.sqlite.prepare('SELECT username, model, stream, outcome, http_status, prompt_tokens, completion_tokens FROM model_calls ORDER BY id').all() as {
      username: string;
      model: string;
      stream: number;
      outcome: string;
      http_status: number;
      prompt_tokens: number;
      completion_tokens: number;
    }[];
  const lastCall = () => meteredCalls().at(-1);
  const chat = (body: unknown, key: string | null = token) => {
    const request = test.request().post('/v1/chat/completions');
    if (key !== null) void request.set('Authorization', `Bearer ${key}`);
    return request.send(body as object);
  };
  const ask = (extra: Record<string, unknown> = {}) => ({ model: 'stand-in', messages: [{ role: 'user', content: 'Say hello.' }], ...extra });
  /** The data of each event of a streamed answer. */
  const eventsOf = (text: string) => text.split('\n\n').filter((event) => event.startsWith('data: ')).map((event) => event.slice(6));

  beforeAll(async () => {
    standIn = await startOpenAiStandIn();
    healthy = await startHealthyDriver();
    test = startTestPlatform({ LITELLM_URL: `http://127.0.0.1:${standIn.port}`, LITELLM_MASTER_KEY: MASTER_KEY }, { driver: healthy.driver });
    const admin = await setupAdmin(test);
    // Every misbehaviour of the stand-in is a model of the catalog; "stand-in-unknown" is one LiteLLM does not have.
    await offerModels(admin, ['stand-in', 'stand-in-slow', 'stand-in-cut', 'stand-in-error', 'stand-in-busy', 'stand-in-unknown']);
    alice = await createUser(test, admin, 'alice');
    await alice.agent.post('/api/runtime/start').set('X-CSRF-Token', alice.csrfToken).expect(200);
    token = healthy.driver.modelToken('alice');
    expect(token).toMatch(/\S{20,}/);
    // A real listening server for the tests that watch bytes arrive (supertest reads whole answers).
    server = http.createServer(test.platform.app).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    port = (server.address() as AddressInfo).port;
  });

  /** A streamed chat over a real connection: when each piece arrived; `leaveAfterFirst` hangs up after the first. */
  function streamedChat(model: string, leaveAfterFirst = false): Promise<{ pieces: { at: number; text: string }[]; endedAt: number }> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const pieces: { at: number; text: string }[] = [];
      const request = http.request({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } }, (response) => {
        response.on('data', (chunk: Buffer) => {
          pieces.push({ at: Date.now() - started, text: chunk.toString('utf8') });
          if (leaveAfterFirst) {
            request.destroy();
            resolve({ pieces, endedAt: Date.now() - started });
          }
        });
        response.on('end', () => resolve({ pieces, endedAt: Date.now() - started }));
        response.on('error', () => undefined);
      });
      request.on('error', (error) => (leaveAfterFirst ? undefined : reject(error)));
      request.end(JSON.stringify(ask({ model, stream: true })));
    });
  }

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    test.close();
    await healthy.close();
    await standIn.close();
  });

  it('answers a chat with the runtime’s token, through the gateway’s own key, and meters it once, with its price', async () => {
    const before = meteredCalls().length;
    const response = await chat(ask()).expect(200);
    expect(meteredCalls().length).toBe(before + 1);
    expect((test.database.sqlite.prepare('SELECT cost_usd FROM model_calls ORDER BY id DESC LIMIT 1').get() as { cost_usd: number }).cost_usd).toBe(STAND_IN_COST_USD);
    expect(response.body.choices[0].message.content).toBe(STAND_IN_WORDS.join(''));
    expect(response.body.usage).toEqual(STAND_IN_USAGE);
    // LiteLLM is called with the master key, never with the runtime's token.
    expect(standIn.requests.at(-1)?.authorization).toBe(`Bearer ${MASTER_KEY}`);
    expect(lastCall()).toEqual({ username: 'alice', model: 'stand-in', stream: 0, outcome: 'ok', http_status: 200, prompt_tokens: 11, completion_tokens: 5 });
    // A model call is use of the runtime: the idle stop sees it.
    const { runtime } = (await alice.agent.get('/api/runtime').expect(200)).body as { runtime: { lastActivityAt: string } };
    expect(Date.now() - new Date(runtime.lastActivityAt).getTime()).toBeLessThan(5_000);
  });

  it('passes on OpenAI’s parameters only: none of LiteLLM’s own (fallbacks to other models, retries, mocks)', async () => {
    await chat(ask({ temperature: 0.2, fallbacks: ['stand-in-error'], mock_testing_fallbacks: true, num_retries: 9, metadata: { tags: ['x'] }, api_base: 'http://evil.example' })).expect(200);
    const sent = standIn.requests.at(-1)?.body as Record<string, unknown>;
    expect(sent).toMatchObject({ model: 'stand-in', temperature: 0.2 });
    for (const field of ['fallbacks', 'mock_testing_fallbacks', 'num_retries', 'metadata', 'api_base']) expect(sent).not.toHaveProperty(field);
    // A call without a limit of its own is held to the model's most output tokens, which it reserved.
    expect(sent.max_tokens).toBe(8192);
    expect((await chat(ask({ n: 3 })).expect(400)).body.error.code).toBe('unsupported_n');
    expect((await chat(ask({ max_tokens: -5 })).expect(400)).body.error.code).toBe('invalid_max_tokens');
  });

  it('lists the caller’s models, "default" first', async () => {
    const response = await test.request().get('/v1/models').set('Authorization', `Bearer ${token}`).expect(200);
    expect(response.body.data.map((model: { id: string }) => model.id)).toEqual(['default', 'stand-in', 'stand-in-busy', 'stand-in-cut', 'stand-in-error', 'stand-in-slow', 'stand-in-unknown']);
  });

  it('takes "default" as the user’s default model (the first one made here)', async () => {
    await chat(ask({ model: 'default' })).expect(200);
    expect(standIn.requests.at(-1)?.body.model).toBe('stand-in');
    expect(lastCall()).toMatchObject({ model: 'stand-in', outcome: 'ok' });
  });

  it('streams, asks the upstream for usage and keeps that chunk from a client that did not ask for it', async () => {
    const response = await chat(ask({ stream: true })).expect(200);
    expect(response.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(standIn.requests.at(-1)?.body.stream_options).toEqual({ include_usage: true });
    const events = eventsOf(response.text);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data) as { choices: { delta: { content?: string } }[]; usage?: unknown });
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(STAND_IN_WORDS.join(''));
    expect(chunks.some((chunk) => chunk.usage !== undefined)).toBe(false);
    expect(lastCall()).toMatchObject({ stream: 1, outcome: 'ok', prompt_tokens: 11, completion_tokens: 5 });
  });

  it('passes a stream on as it comes, not when it is done', async () => {
    // The slow model writes a chunk every 200 ms: the first must reach the client long before the last.
    const { pieces, endedAt } = await streamedChat('stand-in-slow');
    expect(pieces.length).toBeGreaterThan(2);
    expect(pieces[0]?.at).toBeLessThan(endedAt - 600);
    expect(pieces.map((piece) => piece.text).join('')).toContain('data: [DONE]');
  });

  it('stops the upstream call when the client hangs up, and meters it once as the client gone', async () => {
    const before = standIn.requests.length;
    const rows = meteredCalls().length;
    await streamedChat('stand-in-slow', true);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(standIn.requests.length).toBe(before + 1);
    expect(meteredCalls().length).toBe(rows + 1);
    expect(lastCall()).toMatchObject({ model: 'stand-in-slow', stream: 1, outcome: 'client_gone' });
    // The stand-in's answer was cut short by us: fewer content chunks than a whole answer.
    expect(lastCall()?.completion_tokens).toBeLessThan(STAND_IN_WORDS.length);
    // The provider billed the prompt all the same: leaving early must not make a call free.
    expect(lastCall()?.prompt_tokens).toBeGreaterThan(0);
  });

  it('says a model is not offered, and passes a provider’s rate limit on with when to retry', async () => {
    const before = standIn.requests.length;
    const notOffered = await chat(ask({ model: 'gpt-unheard-of' })).expect(404);
    expect(notOffered.body.error).toMatchObject({ type: 'not_found_error', code: 'model_not_found' });
    expect(notOffered.body.error.message).toMatch(/"gpt-unheard-of" is not available to you\. Models you can use: stand-in, /);
    expect(standIn.requests.length).toBe(before);
    // Offered here but unknown to LiteLLM (a typo in the upstream name): the same words.
    const unknown = await chat(ask({ model: 'stand-in-unknown' })).expect(404);
    expect(unknown.body.error).toMatchObject({ type: 'not_found_error', code: 'model_not_found' });
    const busy = await chat(ask({ model: 'stand-in-busy' })).expect(429);
    expect(busy.body.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
    expect(busy.headers['retry-after']).toBe('7');
    expect(lastCall()).toMatchObject({ model: 'stand-in-busy', outcome: 'error', http_status: 429 });
  });

  it('passes the usage chunk to a client that asked for it', async () => {
    const response = await chat(ask({ stream: true, stream_options: { include_usage: true } })).expect(200);
    const chunks = eventsOf(response.text).slice(0, -1).map((data) => JSON.parse(data) as { usage?: unknown });
    expect(chunks.at(-1)?.usage).toEqual(STAND_IN_USAGE);
  });

  it('ends a stream the provider cut off with an error event, and still meters what came', async () => {
    const response = await chat(ask({ model: 'stand-in-cut', stream: true })).expect(200);
    const events = eventsOf(response.text);
    expect(events).not.toContain('[DONE]');
    expect(JSON.parse(events.at(-1) ?? '{}')).toMatchObject({ error: { code: 'upstream_cut_off', type: 'api_error' } });
    expect(lastCall()).toMatchObject({ model: 'stand-in-cut', outcome: 'cut_off', completion_tokens: 2 });
  });

  it('turns a provider failure into OpenAI’s error shape with words a user can act on', async () => {
    const response = await chat(ask({ model: 'stand-in-error' })).expect(502);
    expect(response.body).toEqual({ error: { message: expect.stringMatching(/model provider failed/) as unknown, type: 'api_error', param: null, code: 'upstream_error' } });
    expect(lastCall()).toMatchObject({ model: 'stand-in-error', outcome: 'error', http_status: 502 });
  });

  it.each([
    ['no key', null, 'missing_api_key'],
    ['a key that is none of ours', 'sk-not-a-runtime-token', 'invalid_api_key'],
    ['the gateway’s own master key', MASTER_KEY, 'invalid_api_key'],
  ])('refuses %s with 401 in OpenAI’s shape, before reading the body', async (_label, key, code) => {
    const before = standIn.requests.length;
    const response = await chat(ask(), key).expect(401);
    expect(response.body.error).toMatchObject({ type: 'authentication_error', code });
    expect(standIn.requests.length).toBe(before);
  });

  it.each([
    ['malformed JSON', '{"model": "stand-in", "messages": [', 400, 'invalid_json'],
    ['no model', { messages: [{ role: 'user', content: 'x' }] }, 400, 'missing_model'],
    ['no messages', { model: 'stand-in' }, 400, 'invalid_messages'],
    ['a stream flag that is not a boolean', { model: 'stand-in', messages: [{ role: 'user', content: 'x' }], stream: 'yes' }, 400, 'invalid_stream'],
    ['an array', [1, 2], 400, 'invalid_body'],
  ])('refuses %s in OpenAI’s shape', async (_label, body, status, code) => {
    const request = test.request().post('/v1/chat/completions').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json');
    const response = await request.send(typeof body === 'string' ? body : JSON.stringify(body)).expect(status);
    expect(response.body.error).toMatchObject({ type: 'invalid_request_error', code, param: null });
  });

  it('refuses a body over the limit with 413, in OpenAI’s shape', async () => {
    const huge = ask({ messages: [{ role: 'user', content: 'x'.repeat(test.config.modelBodyLimitBytes + 1) }] });
    const response = await chat(huge).expect(413);
    expect(response.body.error).toMatchObject({ type: 'invalid_request_error', code: 'payload_too_large' });
  });

  it('gives every answer a request id, keeping a sane one the client sent, and logs the call with it and its user', async () => {
    const kept = await chat(ask()).set('X-Request-Id', 'openclaw-call-42').expect(200);
    expect(kept.headers['x-request-id']).toBe('openclaw-call-42');
    const refused = await chat(ask(), 'not-a-token').set('X-Request-Id', 'bad id with spaces').expect(401);
    expect(refused.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const logged = test.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.requestId === 'openclaw-call-42');
    expect(logged).toEqual([expect.objectContaining({ message: 'request', method: 'POST', url: '/v1/chat/completions', status: 200, level: 'info', userId: expect.any(Number) as unknown })]);
  });

  it('answers an unknown path under /v1 in OpenAI’s shape', async () => {
    const response = await test.request().post('/v1/embeddings').set('Authorization', `Bearer ${token}`).send({}).expect(404);
    expect(response.body.error).toMatchObject({ type: 'not_found_error', code: 'unknown_url' });
  });

  it('refuses the old token once the runtime was made again with a new one', async () => {
    const old = token;
    await alice.agent.post('/api/runtime/stop').set('X-CSRF-Token', alice.csrfToken).expect(200);
    // A start after a stop keeps the container; a new spec makes it again, with a new token.
    await test.request().post('/v1/chat/completions').set('Authorization', `Bearer ${old}`).send(ask()).expect(200);
    healthy.driver.containers.delete('alice');
    await alice.agent.post('/api/runtime/start').set('X-CSRF-Token', alice.csrfToken).expect(200);
    token = healthy.driver.modelToken('alice');
    expect(token).not.toBe(old);
    expect((await chat(ask(), old).expect(401)).body.error.code).toBe('invalid_api_key');
    await chat(ask()).expect(200);
  });
});

describe('the model endpoint without models or a reachable LiteLLM', () => {
  it('says models are not set up when no model is, and that the service is down when LiteLLM does not answer', async () => {
    const healthy = await startHealthyDriver();
    for (const [models, status, code] of [
      [[], 503, 'models_not_set_up'],
      [['x'], 503, 'model_gateway_unavailable'],
    ] as const) {
      const test = startTestPlatform({ LITELLM_URL: 'http://127.0.0.1:9' }, { driver: healthy.driver });
      try {
        const admin = await setupAdmin(test);
        if (models.length > 0) await offerModels(admin, [...models]);
        const bob = await createUser(test, admin, 'bob');
        await bob.agent.post('/api/runtime/start').set('X-CSRF-Token', bob.csrfToken).expect(200);
        const response = await test
          .request()
          .post('/v1/chat/completions')
          .set('Authorization', `Bearer ${healthy.driver.modelToken('bob')}`)
          .send({ model: 'x', messages: [{ role: 'user', content: 'x' }] })
          .expect(status);
        expect(response.body.error).toMatchObject({ code, type: 'api_error' });
        healthy.driver.containers.delete('bob');
      } finally {
        test.close();
      }
    }
    await healthy.close();
  });
});

describe('requests from a runtime network', () => {
  it('reach the model endpoint and nothing else of the platform', async () => {
    // Every test request comes from 127.0.0.1: call loopback a runtime network for this platform.
    const test = startTestPlatform({ RUNTIME_SUBNET_POOL: '127.0.0.0/16' });
    try {
      expect((await test.request().get('/api/health')).status).toBe(404);
      expect((await test.request().post('/api/auth/login').send({ username: 'a', password: 'b' })).status).toBe(404);
      expect((await test.request().get('/')).status).toBe(404);
      // /v1 answers (here: no key given).
      expect((await test.request().get('/v1/models')).status).toBe(401);
    } finally {
      test.close();
    }
  });
});
