/**
 * The metrics of a real runtime on the real Docker daemon: runtimes by state and the start and stop
 * durations move when it starts and stops, read from /metrics with a Prometheus text-format parser;
 * readiness reports the real engine as ready.
 */
import { Scrape } from '../support/prometheus';
import { setupAdmin, type SignedIn, type TestPlatform } from '../integration/support/test-platform';
import { printingLogsOnFailure, removeTestResources, startDockerPlatform } from './support/docker-platform';

jest.setTimeout(300_000);

const METRICS_TOKEN = 'metrics-token-for-docker-tests-0123';

describe('metrics of a real runtime', () => {
  let test: TestPlatform;
  let admin: SignedIn;
  const scrape = async () => Scrape.parse((await test.request().get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`).expect(200)).text);
  const post = (url: string) => admin.agent.post(url).set('X-CSRF-Token', admin.csrfToken);

  beforeAll(async () => {
    test = startDockerPlatform({ METRICS_TOKEN });
    admin = await setupAdmin(test);
  });
  afterAll(() => {
    test.close();
    removeTestResources();
  });

  it('moves runtimes by state and the start and stop durations as a runtime starts and stops', () =>
    printingLogsOnFailure(['admin'], async () => {
      const before = await scrape();
      expect(before.value('crewclaw_runtimes', { state: 'running' })).toBe(0);
      expect(before.histogram('crewclaw_runtime_start_duration_seconds').count).toBe(0);

      const began = Date.now();
      await post('/api/runtime/start').expect(200);
      const tookSeconds = (Date.now() - began) / 1000;
      const started = await scrape();
      expect(started.value('crewclaw_runtimes', { state: 'running' })).toBe(1);
      const start = started.histogram('crewclaw_runtime_start_duration_seconds');
      expect(start.count).toBe(1);
      // OpenClaw takes seconds to answer /healthz: the observed time is the start's, not a token figure.
      expect(start.sum).toBeGreaterThan(0.5);
      expect(start.sum).toBeLessThanOrEqual(tookSeconds);
      expect(started.value('crewclaw_runtime_start_failures_total', { cause: 'other' })).toBe(0);

      await post('/api/runtime/stop').expect(200);
      const stopped = await scrape();
      expect(stopped.value('crewclaw_runtimes', { state: 'running' })).toBe(0);
      expect(stopped.value('crewclaw_runtimes', { state: 'stopped' })).toBe(1);
      expect(stopped.histogram('crewclaw_runtime_stop_duration_seconds', { reason: 'user' }).count).toBe(1);
      expect(stopped.histogram('crewclaw_runtime_start_duration_seconds').count).toBe(1);
      expect(stopped.histogram('crewclaw_http_request_duration_seconds', { method: 'POST', route: '/api/runtime/start', status: '200' }).count).toBe(1);
    }));

  it('reports the real Docker engine as ready', async () => {
    const response = await test.request().get('/api/ready');
    expect(response.body.checks.docker).toEqual({ status: 'ready' });
    expect(response.body.checks.database).toEqual({ status: 'ready' });
  });
});
