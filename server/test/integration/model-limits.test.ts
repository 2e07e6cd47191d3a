/**
 * Budgets and rate limits on the model endpoint, under concurrency, and the usage pages that show them:
 * what a user is told when over a limit (OpenAI's 429, when to retry, which limit and when it resets),
 * that twenty calls at once never overspend a budget by more than one call, and the admin's overrides.
 */
import { STAND_IN_PRICE, STAND_IN_USAGE, startOpenAiStandIn, type OpenAiStandIn } from '../support/openai-stand-in';
import { startHealthyDriver } from './support/healthy-driver';
import { offerModels } from './support/model-catalog';
import { auditActions, createUser, setupAdmin, startTestPlatform, type SignedIn, type TestPlatform } from './support/test-platform';

const TOKENS_PER_CALL = STAND_IN_USAGE.prompt_tokens + STAND_IN_USAGE.completion_tokens;

describe('model limits', () => {
  let standIn: OpenAiStandIn;
  let healthy: Awaited<ReturnType<typeof startHealthyDriver>>;
  let test: TestPlatform;
  let admin: SignedIn;

  const put = (who: SignedIn, path: string, body: unknown) => who.agent.put(path).set('X-CSRF-Token', who.csrfToken).send(body as object);
  const ask = (model = 'stand-in-slow') => ({ model, max_tokens: 5, messages: [{ role: 'user', content: 'Say hello.' }] });
  const call = (username: string, model?: string) =>
    test.request().post('/v1/chat/completions').set('Authorization', `Bearer ${healthy.driver.modelToken(username)}`).send(ask(model));
  const spentTokens = (username: string) =>
    (test.database.sqlite.prepare('SELECT coalesce(sum(prompt_tokens + completion_tokens), 0) AS n FROM model_calls WHERE username = ?').get(username) as { n: number }).n;

  async function userWithRuntime(name: string): Promise<SignedIn> {
    const user = await createUser(test, admin, name);
    await user.agent.post('/api/runtime/start').set('X-CSRF-Token', user.csrfToken).expect(200);
    return user;
  }

  beforeAll(async () => {
    standIn = await startOpenAiStandIn();
    healthy = await startHealthyDriver();
    test = startTestPlatform({ LITELLM_URL: `http://127.0.0.1:${standIn.port}`, MODEL_REQUESTS_PER_MINUTE: '0', MODEL_CONCURRENT_REQUESTS: '0' }, { driver: healthy.driver });
    admin = await setupAdmin(test);
    await offerModels(admin, ['stand-in-slow', 'stand-in', 'stand-in-priced'], { models: { 'stand-in': { inputPricePerMTok: 1000, outputPricePerMTok: 2000 } } });
  });

  afterAll(async () => {
    test.close();
    await healthy.close();
    await standIn.close();
  });

  it('lets at most five of twenty simultaneous calls through a budget for five, and never overspends it by more than one call', async () => {
    const carol = await userWithRuntime('carol');
    await put(admin, `/api/admin/users/${carol.user.id}/model-limits`, { dailyTokens: 5 * TOKENS_PER_CALL }).expect(200);
    const answers = await Promise.all(Array.from({ length: 20 }, () => call('carol')));
    const passed = answers.filter((answer) => answer.status === 200);
    const refused = answers.filter((answer) => answer.status === 429);
    expect(passed.length).toBeLessThanOrEqual(5);
    expect(passed.length).toBeGreaterThanOrEqual(4);
    expect(passed.length + refused.length).toBe(20);
    expect(spentTokens('carol')).toBeLessThanOrEqual(5 * TOKENS_PER_CALL + TOKENS_PER_CALL);
    const over = refused[0]!;
    expect(over.body.error).toMatchObject({ type: 'rate_limit_error', code: 'budget_exceeded' });
    expect(over.body.error.message).toMatch(/^Your daily token budget \(80 tokens\) is used up\. It resets at \d{4}-\d\d-\d\dT00:00:00Z \(in \d+ (h|min|s)\); an admin can raise it\.$/);
    const retryAfter = Number(over.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    // The upstream saw only the calls that went through.
    expect(standIn.requests.filter((request) => request.body.model === 'stand-in-slow').length).toBe(passed.length);
  });

  it('holds a cost budget by the model’s prices', async () => {
    const dave = await userWithRuntime('dave');
    // 11 prompt tokens at $1000/M and 5 completion tokens at $2000/M: $0.021 a call.
    await put(admin, `/api/admin/users/${dave.user.id}/model-limits`, { monthlyCostUsd: 0.05 }).expect(200);
    const answers = await Promise.all(Array.from({ length: 10 }, () => call('dave', 'stand-in')));
    expect(answers.filter((answer) => answer.status === 200).length).toBeLessThanOrEqual(3);
    const cost = (test.database.sqlite.prepare("SELECT sum(cost_usd) AS c FROM model_calls WHERE username = 'dave'").get() as { c: number }).c;
    expect(cost).toBeLessThanOrEqual(0.05 + 0.021 + 1e-9);
    const refused = answers.find((answer) => answer.status === 429)!;
    expect(refused.body.error.message).toMatch(/^Your monthly model budget \(\$0\.05\) is used up\. It resets at \d{4}-\d\d-01T00:00:00Z/);
  });

  it('prices a streamed call by the price LiteLLM knows when the admin set none', async () => {
    await userWithRuntime('ivan');
    const cost = () => (test.database.sqlite.prepare("SELECT cost_usd AS c FROM model_calls WHERE username = 'ivan' ORDER BY id DESC").get() as { c: number | null } | undefined)?.c ?? null;
    // The prices are read from LiteLLM right after the catalog changed: give that a moment.
    for (let attempt = 0; attempt < 20 && cost() === null; attempt += 1) {
      await test.request().post('/v1/chat/completions').set('Authorization', `Bearer ${healthy.driver.modelToken('ivan')}`).send({ ...ask('stand-in-priced'), stream: true }).expect(200);
      if (cost() === null) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(cost()).toBeCloseTo(STAND_IN_USAGE.prompt_tokens * STAND_IN_PRICE.input + STAND_IN_USAGE.completion_tokens * STAND_IN_PRICE.output, 12);
  });

  it('limits requests per minute and calls at once, with when to retry', async () => {
    const erin = await userWithRuntime('erin');
    await put(admin, `/api/admin/users/${erin.user.id}/model-limits`, { requestsPerMinute: 3 }).expect(200);
    const statuses = [];
    for (let index = 0; index < 4; index += 1) statuses.push((await call('erin', 'stand-in')).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await call('erin', 'stand-in').expect(429);
    expect(limited.body.error.code).toBe('rate_limit_exceeded');
    expect(limited.body.error.message).toMatch(/more than 3 model requests in a minute/);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);

    const frank = await userWithRuntime('frank');
    await put(admin, `/api/admin/users/${frank.user.id}/model-limits`, { concurrentRequests: 2 }).expect(200);
    const answers = await Promise.all(Array.from({ length: 4 }, () => call('frank')));
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 200, 429, 429]);
    expect(answers.find((answer) => answer.status === 429)?.body.error.code).toBe('too_many_concurrent_requests');
    // Once they are done, the next goes through.
    await call('frank').expect(200);
  });

  it('shows admins defaults, overrides and what applies, audits a change, and refuses bad values', async () => {
    const gina = await createUser(test, admin, 'gina');
    const path = `/api/admin/users/${gina.user.id}/model-limits`;
    expect((await admin.agent.get(path).expect(200)).body).toEqual({
      defaults: { dailyTokens: 0, monthlyTokens: 0, dailyCostUsd: 0, monthlyCostUsd: 0, requestsPerMinute: 0, concurrentRequests: 0 },
      overrides: {},
      effective: { dailyTokens: 0, monthlyTokens: 0, dailyCostUsd: 0, monthlyCostUsd: 0, requestsPerMinute: 0, concurrentRequests: 0 },
    });
    const changed = await put(admin, path, { monthlyTokens: 1_000_000, requestsPerMinute: 10 }).expect(200);
    expect(changed.body.overrides).toEqual({ monthlyTokens: 1_000_000, requestsPerMinute: 10 });
    expect(changed.body.effective).toMatchObject({ monthlyTokens: 1_000_000, requestsPerMinute: 10, dailyTokens: 0 });
    // null (or leaving it out) goes back to the default.
    expect((await put(admin, path, { monthlyTokens: null, requestsPerMinute: 10 }).expect(200)).body.overrides).toEqual({ requestsPerMinute: 10 });
    const audited = auditActions(test).filter((row) => row.action === 'user.model_limits' && row.target === 'gina');
    expect(audited).toHaveLength(2);
    expect(audited[0]).toMatchObject({ actor_name: 'admin', result: 'success' });

    for (const body of [{ dailyTokens: -1 }, { dailyTokens: 1.5 }, { dailyTokens: '100' }, { everything: 1 }]) {
      expect((await put(admin, path, body).expect(400)).body.error.code).toBe('validation_failed');
    }
    await put(admin, '/api/admin/users/99999/model-limits', {}).expect(404);
    await put(gina, path, { dailyTokens: 0 }).expect(403);
    await gina.agent.get(path).expect(403);
  });

  it('shows each user their usage against their limits, and admins everyone’s, as JSON and CSV', async () => {
    const carol = await createUser(test, admin, 'carol2');
    await carol.agent.post('/api/runtime/start').set('X-CSRF-Token', carol.csrfToken).expect(200);
    await put(admin, `/api/admin/users/${carol.user.id}/model-limits`, { dailyTokens: 1000 }).expect(200);
    await call('carol2', 'stand-in').expect(200);
    await call('carol2', 'stand-in').expect(200);
    const mine = (await carol.agent.get('/api/me/usage').expect(200)).body;
    expect(mine.today).toEqual({ requests: 2, tokens: 2 * TOKENS_PER_CALL, costUsd: expect.closeTo(0.042, 6) as unknown });
    expect(mine.month.requests).toBe(2);
    expect(mine.limits.dailyTokens).toBe(1000);
    expect(new Date(mine.resets.day).getUTCHours()).toBe(0);
    const today = new Date().toISOString().slice(0, 10);
    expect(mine.days).toEqual([{ day: today, model: 'stand-in', requests: 2, promptTokens: 22, completionTokens: 10, cachedTokens: 0, costUsd: expect.closeTo(0.042, 6) as unknown }]);
    expect(mine.models.map((model: { name: string }) => model.name)).toEqual(['stand-in', 'stand-in-priced', 'stand-in-slow']);
    await carol.agent.get('/api/me/usage?days=0').expect(400);

    const everyone = (await admin.agent.get(`/api/admin/usage?from=${today}&to=${today}`).expect(200)).body;
    expect(everyone.rows.map((row: { username: string }) => row.username)).toEqual(expect.arrayContaining(['carol', 'carol2', 'dave', 'erin', 'frank']));
    expect(everyone.totals.requests).toBe(everyone.rows.reduce((sum: number, row: { requests: number }) => sum + row.requests, 0));
    const csv = await admin.agent.get(`/api/admin/usage.csv?from=${today}&to=${today}`).expect(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.headers['content-disposition']).toContain(`crewclaw-usage-${today}-to-${today}.csv`);
    const lines = csv.text.trim().split('\n');
    expect(lines[0]).toBe('day,username,model,requests,errors,promptTokens,completionTokens,cachedTokens,costUsd');
    expect(lines).toContain(`${today},carol2,stand-in,2,0,22,10,0,0.042`);
    await admin.agent.get('/api/admin/usage?from=2026-13-40').expect(400);
    await admin.agent.get('/api/admin/usage?from=2026-02-31').expect(400);
    await admin.agent.get('/api/admin/usage?from=2026-05-02&to=2026-05-01').expect(400);
    await carol.agent.get('/api/admin/usage').expect(403);
  });
});
