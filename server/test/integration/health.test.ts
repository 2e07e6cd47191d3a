import { platformPerTest } from './support/test-platform';

describe('health, readiness and unknown routes', () => {
  const test = platformPerTest();

  it('is alive and ready without signing in', async () => {
    await test.request().get('/api/health').expect(200, { status: 'ok' });
    // Docker's answer depends on the host (this platform drives the real socket): the database's does not.
    const ready = await test.request().get('/api/ready');
    expect(ready.body.checks.database).toEqual({ status: 'ready' });
  });

  it('is not ready once the database is gone, but still alive', async () => {
    test.database.close();
    const response = await test.request().get('/api/ready').expect(503);
    expect(response.body.error.code).toBe('service_unavailable');
    expect(response.body.checks.database.status).toBe('not_ready');
    await test.request().get('/api/health').expect(200);
  });

  it('turns an unexpected failure into a generic 500: no stack to the client, the stack in the log', async () => {
    const admin = test.request();
    await admin.post('/api/setup').send({ username: 'admin', password: 'admin-password-1' }).expect(201);
    test.database.close();
    const response = await admin.get('/api/me').expect(500);
    expect(response.body.error.code).toBe('internal');
    expect(JSON.stringify(response.body)).not.toMatch(/at |database|sqlite/i);
    const logged = test.logs.map((line) => JSON.parse(line) as { message: string; requestId?: string; error?: { stack?: string } });
    const entry = logged.find((line) => line.message === 'unhandled error' && line.requestId === response.headers['x-request-id']);
    expect(entry?.error?.stack).toMatch(/database/i);
  });

  it('answers unknown API routes with a JSON 404 in the error shape', async () => {
    for (const url of ['/api/nope', '/api/nope/deeper?x=1', '/api']) {
      const response = await test.request().get(url).expect(404).expect('Content-Type', /json/);
      expect(response.body).toEqual({ error: { code: 'not_found', message: 'That API route does not exist.' } });
    }
    await test.request().delete('/api/health').expect(404);
  });

  it('sends security headers', async () => {
    const response = await test.request().get('/api/health');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['content-security-policy']).toContain("default-src 'self'");
    expect(response.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    expect(response.headers['x-powered-by']).toBeUndefined();
  });

  it('answers a non-API path with the web app or a clear message when it is not built', async () => {
    const response = await test.request().get('/users').expect(503);
    expect(response.text).toMatch(/not built/);
  });
});
