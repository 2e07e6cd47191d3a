/**
 * GET /metrics and GET /api/ready on the real app: the metrics token (off, refused, accepted), the
 * scrape read by a real Prometheus text-format parser, and the numbers moving with what users do
 * (requests, failed sign-ins, a runtime start, a model call); readiness naming what is down.
 */
import { STAND_IN_USAGE, type OpenAiStandIn, startOpenAiStandIn } from '../support/openai-stand-in';
import { Scrape } from '../support/prometheus';
import { startHealthyDriver } from './support/healthy-driver';
import { offerModels } from './support/model-catalog';
import { createUser, setupAdmin, startTestPlatform, type TestPlatform } from './support/test-platform';

const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';

describe('metrics and readiness', () => {
  let healthy: Awaited<ReturnType<typeof startHealthyDriver>>;
  let standIn: OpenAiStandIn;
  let test: TestPlatform;

  const scrape = async (): Promise<Scrape> => {
    const response = await test.request().get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`).expect(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return Scrape.parse(response.text);
  };

  beforeEach(async () => {
    healthy = await startHealthyDriver();
    standIn = await startOpenAiStandIn();
    test = startTestPlatform({ METRICS_TOKEN, LITELLM_URL: `http://127.0.0.1:${standIn.port}`, LITELLM_MASTER_KEY: 'sk-litellm-master-for-tests' }, { driver: healthy.driver });
  });

  afterEach(async () => {
    test.close();
    await standIn.close();
    await healthy.close();
  });

  it('is off (404) without METRICS_TOKEN, and refuses a missing or wrong token with 401 in the error shape', async () => {
    const off = startTestPlatform({}, { driver: healthy.driver });
    try {
      const response = await off.request().get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`).expect(404).expect('Content-Type', /json/);
      expect(response.body.error.code).toBe('not_found');
    } finally {
      off.close();
    }
    for (const authorization of [undefined, 'Bearer wrong-token-wrong-token', `Basic ${METRICS_TOKEN}`, METRICS_TOKEN]) {
      const request = test.request().get('/metrics');
      if (authorization) void request.set('Authorization', authorization);
      const response = await request.expect(401).expect('Content-Type', /json/);
      expect(response.body).toEqual({ error: { code: 'unauthorized', message: expect.stringMatching(/METRICS_TOKEN/) } });
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(response.text).not.toMatch(/crewclaw_/);
    }
  });

  it('answers in Prometheus text format: Node’s process metrics, and every series at zero before anything happened', async () => {
    const metrics = await scrape();
    expect(metrics.value('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(metrics.labelsOf('crewclaw_runtimes').map((labels) => labels.state).sort()).toEqual(['absent', 'creating', 'error', 'running', 'starting', 'stopped', 'stopping']);
    expect(metrics.value('crewclaw_runtimes', { state: 'running' })).toBe(0);
    expect(metrics.value('crewclaw_runtime_start_failures_total', { cause: 'health_timeout' })).toBe(0);
    expect(metrics.value('crewclaw_sign_in_failures_total', { reason: 'wrong_password' })).toBe(0);
    expect(metrics.histogram('crewclaw_runtime_start_duration_seconds').count).toBe(0);
  });

  it('counts HTTP requests by route pattern and status, never by raw URL', async () => {
    const before = await scrape();
    await test.request().get('/api/health').expect(200);
    // The same route in another case (Express matches it) is the same series, not one per spelling.
    await test.request().get('/API/Health').expect(200);
    const admin = await setupAdmin(test);
    await admin.agent.get('/api/users/4242').expect(404);
    await test.request().get('/api/no-such-route/4242').expect(404);
    await admin.agent.get('/api/admin/files/nobody-here/stat').expect(404);
    const after = await scrape();

    const requests = (labels: Record<string, string>) => after.histogram('crewclaw_http_request_duration_seconds', labels).count - before.histogram('crewclaw_http_request_duration_seconds', labels).count;
    expect(requests({ method: 'GET', route: '/api/health', status: '200' })).toBe(2);
    expect(requests({ method: 'POST', route: '/api/setup', status: '201' })).toBe(1);
    // An error from inside a route keeps its route's pattern, a mount's parameter included.
    expect(requests({ method: 'GET', route: '/api/users/:id', status: '404' })).toBe(1);
    expect(requests({ method: 'GET', route: '/api/admin/files/:username/stat', status: '404' })).toBe(1);
    expect(requests({ method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    // The scrape before this one counted too.
    expect(requests({ method: 'GET', route: '/metrics', status: '200' })).toBe(1);
    const routes = after.labelsOf('crewclaw_http_request_duration_seconds').map((labels) => labels.route);
    expect(routes.filter((route) => /4242|nobody-here|[A-Z]/.test(route ?? ''))).toEqual([]);
  });

  it('counts failed sign-ins by reason', async () => {
    const admin = await setupAdmin(test);
    await createUser(test, admin, 'alice');
    await test.request().post('/api/auth/login').send({ username: 'alice', password: 'not-her-password' }).expect(401);
    await test.request().post('/api/auth/login').send({ username: 'alice', password: 'still-not-her-password' }).expect(401);
    await test.request().post('/api/auth/login').send({ username: 'nobody', password: 'whatever-password' }).expect(401);
    const metrics = await scrape();
    expect(metrics.value('crewclaw_sign_in_failures_total', { reason: 'wrong_password' })).toBe(2);
    expect(metrics.value('crewclaw_sign_in_failures_total', { reason: 'unknown_user' })).toBe(1);
    expect(metrics.value('crewclaw_sign_in_failures_total', { reason: 'disabled' })).toBe(0);
  });

  it('counts a runtime start and stop, runtimes by state, and a model call’s request and tokens by model', async () => {
    const admin = await setupAdmin(test);
    await offerModels(admin, ['stand-in']);
    const alice = await createUser(test, admin, 'alice');
    await alice.agent.post('/api/runtime/start').set('X-CSRF-Token', alice.csrfToken).expect(200);
    let metrics = await scrape();
    expect(metrics.value('crewclaw_runtimes', { state: 'running' })).toBe(1);
    expect(metrics.histogram('crewclaw_runtime_start_duration_seconds').count).toBe(1);

    const token = healthy.driver.modelToken('alice');
    await test.request().post('/v1/chat/completions').set('Authorization', `Bearer ${token}`).send({ model: 'stand-in', messages: [{ role: 'user', content: 'Say hello.' }] }).expect(200);
    await test.request().get('/v1/models').set('Authorization', `Bearer ${token}`).expect(200);
    await test.request().get('/v1/models').set('Authorization', 'Bearer not-a-runtime-token').expect(401);
    // A whole answer is metered right after it is written.
    await new Promise((resolve) => setImmediate(resolve));
    metrics = await scrape();
    expect(metrics.value('crewclaw_model_requests_total', { model: 'stand-in', outcome: 'ok' })).toBe(1);
    expect(metrics.value('crewclaw_model_tokens_total', { model: 'stand-in', kind: 'prompt' })).toBe(STAND_IN_USAGE.prompt_tokens);
    expect(metrics.value('crewclaw_model_tokens_total', { model: 'stand-in', kind: 'completion' })).toBe(STAND_IN_USAGE.completion_tokens);
    const modelRoute = (route: string, status: string) => metrics.histogram('crewclaw_http_request_duration_seconds', { route, status }).count;
    expect(modelRoute('/v1/chat/completions', '200')).toBe(1);
    expect(modelRoute('/v1/models', '200')).toBe(1);
    expect(modelRoute('/v1/models', '401')).toBe(1);

    await alice.agent.post('/api/runtime/stop').set('X-CSRF-Token', alice.csrfToken).expect(200);
    expect(await test.platform.services.runtimes.stopIdle(1, {}, new Date(Date.now() + 3_600_000))).toEqual({ stopped: [], unchecked: [] });
    metrics = await scrape();
    expect(metrics.value('crewclaw_runtimes', { state: 'running' })).toBe(0);
    expect(metrics.value('crewclaw_runtimes', { state: 'stopped' })).toBe(1);
    expect(metrics.histogram('crewclaw_runtime_stop_duration_seconds', { reason: 'user' }).count).toBe(1);
  });

  it('counts an idle stop, and a start that failed by its cause', async () => {
    const admin = await setupAdmin(test);
    const alice = await createUser(test, admin, 'alice');
    await alice.agent.post('/api/runtime/start').set('X-CSRF-Token', alice.csrfToken).expect(200);
    expect((await test.platform.services.runtimes.stopIdle(1, {}, new Date(Date.now() + 3_600_000))).stopped).toEqual(['alice']);
    healthy.driver.available = false;
    await alice.agent.post('/api/runtime/start').set('X-CSRF-Token', alice.csrfToken).expect(503);
    healthy.driver.available = true;
    const metrics = await scrape();
    expect(metrics.value('crewclaw_runtime_idle_stops_total')).toBe(1);
    expect(metrics.histogram('crewclaw_runtime_stop_duration_seconds', { reason: 'idle' }).count).toBe(1);
    expect(metrics.value('crewclaw_runtime_start_failures_total', { cause: 'docker_unavailable' })).toBe(1);
  });

  it('is ready when the database, Docker and LiteLLM are; LiteLLM without models counts as ready', async () => {
    const response = await test.request().get('/api/ready').expect(200);
    expect(response.body).toEqual({
      status: 'ready',
      checks: { database: { status: 'ready' }, docker: { status: 'ready' }, litellm: { status: 'ready', message: 'No model is set up yet.' } },
    });
  });

  it('names Docker as not ready when the engine does not answer, with the database still ready', async () => {
    healthy.driver.available = false;
    const response = await test.request().get('/api/ready').expect(503);
    expect(response.body.status).toBe('not_ready');
    expect(response.body.checks.database).toEqual({ status: 'ready' });
    expect(response.body.checks.docker).toEqual({ status: 'not_ready', message: 'Docker does not answer.' });
    // The answer is public: the driver's own words (sockets, addresses) stay out of it.
    expect(JSON.stringify(response.body)).not.toMatch(/not reachable/);
    expect(response.body.error).toEqual({ code: 'service_unavailable', message: expect.stringMatching(/^Not ready: Docker/) });
    // Liveness does not depend on Docker.
    await test.request().get('/api/health').expect(200, { status: 'ok' });
  });
});
