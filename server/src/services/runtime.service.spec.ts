import { loadConfig } from '../config/config';
import { openDatabase, type DatabaseHandle } from '../db/client';
import { migrateDatabase } from '../db/migrate';
import { AuditRepository } from '../repositories/audit.repository';
import { RuntimeRepository } from '../repositories/runtime.repository';
import { UserRepository } from '../repositories/user.repository';
import { runtimeSettings } from '../platform';
import { MemoryDriver } from '../runtimes/memory-driver';
import { AuditService } from './audit.service';
import { CLI_CONTEXT } from './request-context';
import { RuntimeEvents, type RuntimeEvent } from './runtime-events';
import { RuntimeService } from './runtime.service';

describe('RuntimeService with the in-memory driver', () => {
  let database: DatabaseHandle;
  let driver: MemoryDriver;
  let events: RuntimeEvents;
  let healthy: boolean;
  const alice = { id: 1, username: 'alice' };

  const service = (env: Record<string, string> = {}) => {
    const config = loadConfig({ NODE_ENV: 'test', RUNTIME_START_TIMEOUT_SECONDS: '1', ...env });
    return new RuntimeService(driver, new RuntimeRepository(database.db), new AuditService(new AuditRepository(database.db)), events, () => Promise.resolve(healthy), runtimeSettings(config));
  };

  beforeEach(() => {
    database = openDatabase(':memory:');
    migrateDatabase(database);
    new UserRepository(database.db).create({ username: 'alice', passwordHash: 'x', role: 'user' });
    driver = new MemoryDriver();
    events = new RuntimeEvents();
    healthy = true;
  });
  afterEach(() => database.close());

  it('reports absent, then running after start, with every step announced in order', async () => {
    const runtimes = service();
    expect((await runtimes.status(alice)).state).toBe('absent');
    const seen: RuntimeEvent[] = [];
    events.subscribe('alice', (event) => seen.push(event));
    const view = await runtimes.start(CLI_CONTEXT, alice);
    expect(view).toMatchObject({ state: 'running', image: 'crewclaw/runtime:dev', error: null });
    expect(seen.map((event) => event.step)).toEqual(['creating container', 'starting', 'waiting for health', 'ready']);
    expect(seen.every((event) => event.elapsedMs >= 0)).toBe(true);
  });

  it('makes one container for two simultaneous starts', async () => {
    const runtimes = service();
    const views = await Promise.all([runtimes.start(CLI_CONTEXT, alice), runtimes.start(CLI_CONTEXT, alice)]);
    expect(views.map((view) => view.state)).toEqual(['running', 'running']);
    expect(driver.createCalls).toBe(1);
  });

  it('puts only the runtime\'s own token in its config, and a new one each time it is recreated', async () => {
    const runtimes = service();
    await runtimes.start(CLI_CONTEXT, alice);
    const first = driver.containers.get('alice')!.env.CREWCLAW_OPENCLAW_CONFIG!;
    expect(JSON.parse(first).models.providers.crewclaw.apiKey).toMatch(/^ccrt_/);
    driver.containers.delete('alice');
    await runtimes.start(CLI_CONTEXT, alice);
    const second = driver.containers.get('alice')!.env.CREWCLAW_OPENCLAW_CONFIG!;
    expect(JSON.parse(second).models.providers.crewclaw.apiKey).not.toBe(JSON.parse(first).models.providers.crewclaw.apiKey);
  });

  it('names the cause and keeps the last log lines, redacted, when the gateway crashes on start', async () => {
    driver.crashingImages.set('crewclaw/runtime:dev', 3);
    const runtimes = service();
    await expect(runtimes.start(CLI_CONTEXT, alice)).rejects.toMatchObject({ code: 'runtime_failed', message: expect.stringContaining('exited with code 3') });
    const view = await runtimes.status(alice);
    expect(view.state).toBe('error');
    expect(view.error?.logs).toContain('gateway of alice');
    expect(view.error?.logs).not.toContain('ccrt_secret_value_here');
  });

  it('times out with a clear error when health never comes', async () => {
    healthy = false;
    await expect(service().start(CLI_CONTEXT, alice)).rejects.toMatchObject({ message: expect.stringContaining('did not become healthy within 1 s') });
  });

  it('moves to a new image on start and goes back when the new one does not come up', async () => {
    await service().start(CLI_CONTEXT, alice);
    driver.crashingImages.set('crewclaw/runtime:broken', 1);
    const upgraded = await service({ RUNTIME_IMAGE: 'crewclaw/runtime:broken' }).start(CLI_CONTEXT, alice);
    expect(upgraded).toMatchObject({ state: 'running', image: 'crewclaw/runtime:dev' });
    expect(upgraded.notice).toMatch(/upgrade to crewclaw\/runtime:broken failed.*back on crewclaw\/runtime:dev/);

    const good = await service({ RUNTIME_IMAGE: 'crewclaw/runtime:next' }).start(CLI_CONTEXT, alice);
    expect(good).toMatchObject({ state: 'running', image: 'crewclaw/runtime:next', notice: null });
  });

  it('answers 503 with a clear message when Docker is gone, and recovers when it returns', async () => {
    const runtimes = service();
    driver.available = false;
    await expect(runtimes.status(alice)).rejects.toMatchObject({ status: 503, message: expect.stringContaining('Docker is not reachable') });
    await expect(runtimes.start(CLI_CONTEXT, alice)).rejects.toMatchObject({ status: 503 });
    driver.available = true;
    expect((await runtimes.start(CLI_CONTEXT, alice)).state).toBe('running');
  });

  it('stops runtimes idle for longer than the limit, keeps their files, and never when the limit is 0', async () => {
    const runtimes = service();
    await runtimes.start(CLI_CONTEXT, alice);
    const inAnHour = new Date(Date.now() + 61 * 60_000);
    expect(await runtimes.stopIdle(0, inAnHour)).toEqual([]);
    expect(await runtimes.stopIdle(120, inAnHour)).toEqual([]);
    expect(await runtimes.stopIdle(60, inAnHour)).toEqual(['alice']);
    expect((await runtimes.status(alice)).state).toBe('stopped');
    expect(await driver.volumeExists('alice')).toBe(true);
    const audit = database.sqlite.prepare("SELECT actor_name, detail FROM audit_log WHERE action = 'runtime.stop'").all();
    expect(audit).toEqual([{ actor_name: 'platform', detail: '{"reason":"idle"}' }]);
    // Starting again counts as use.
    await runtimes.start(CLI_CONTEXT, alice);
    // Work in progress (a long file transfer) is never cut off by the idle stop.
    const release = runtimes.holdForWork(alice);
    const second = runtimes.holdForWork(alice);
    const inTwoHours = new Date(Date.now() + 121 * 60_000);
    expect(await runtimes.stopIdle(60, inTwoHours)).toEqual([]);
    release();
    release();
    expect(await runtimes.stopIdle(60, inTwoHours)).toEqual([]);
    second();
    expect(await runtimes.stopIdle(60, inTwoHours)).toEqual(['alice']);
    await runtimes.start(CLI_CONTEXT, alice);
    expect(await runtimes.stopIdle(60, new Date(Date.now() + 30 * 60_000))).toEqual([]);
  });

  it('keeps the volume on remove and drops it only on purge', async () => {
    const runtimes = service();
    await runtimes.start(CLI_CONTEXT, alice);
    await runtimes.remove(CLI_CONTEXT, alice, false);
    expect(await driver.volumeExists('alice')).toBe(true);
    await runtimes.remove(CLI_CONTEXT, alice, true);
    expect(await driver.volumeExists('alice')).toBe(false);
  });

  it('changes the limits of a running runtime in place, and of a stopped one before it starts', async () => {
    const runtimes = service();
    await runtimes.start(CLI_CONTEXT, alice);
    const id = driver.containers.get('alice')!.id;
    await runtimes.setLimits(CLI_CONTEXT, alice, { memoryMb: 1024, cpus: 0.5 });
    expect(driver.containers.get('alice')).toMatchObject({ id, status: 'running', limits: { memoryBytes: 1024 * 2 ** 20, nanoCpus: 5e8 } });
    expect((await runtimes.status(alice)).usage?.memoryLimitBytes).toBe(1024 * 2 ** 20);
    await runtimes.stop(CLI_CONTEXT, alice);
    // Back to the default while stopped: the same container takes it when it starts.
    await runtimes.setLimits(CLI_CONTEXT, alice, { memoryMb: null });
    await runtimes.start(CLI_CONTEXT, alice);
    expect(driver.containers.get('alice')).toMatchObject({ id, limits: { memoryBytes: 2048 * 2 ** 20, nanoCpus: 5e8 } });
    expect(driver.createCalls).toBe(1);
  });

  it('saves no limits Docker refused', async () => {
    const runtimes = service();
    await runtimes.start(CLI_CONTEXT, alice);
    driver.available = false;
    await expect(runtimes.setLimits(CLI_CONTEXT, alice, { memoryMb: 1024 })).rejects.toMatchObject({ status: 503 });
    driver.available = true;
    expect((await runtimes.status(alice)).limits).toEqual({ memoryMb: 2048, cpus: 2, custom: false });
  });

  it('reconnects shared peers to the networks of runtimes that kept running, and only those', async () => {
    new UserRepository(database.db).create({ username: 'bob', passwordHash: 'x', role: 'user' });
    const bob = { id: 2, username: 'bob' };
    const runtimes = service();
    await runtimes.start(CLI_CONTEXT, alice);
    await runtimes.start(CLI_CONTEXT, bob);
    await runtimes.stop(CLI_CONTEXT, bob);
    driver.peerConnections.length = 0;
    expect(await runtimes.reconnectRunning()).toEqual(['alice']);
    expect(driver.peerConnections).toEqual(['alice']);
  });

  it('starts a runtime that is not running when its user reaches for it, and counts use while it runs', async () => {
    const runtimes = service();
    expect(await runtimes.access(CLI_CONTEXT, alice)).toBe('starting');
    await waitFor(async () => (await runtimes.status(alice)).state === 'running');
    const repository = new RuntimeRepository(database.db);
    const longAgo = new Date(Date.now() - 3 * 3600_000);
    repository.update(alice.id, { lastActivityAt: longAgo });
    expect(await runtimes.access(CLI_CONTEXT, alice)).toBe('ready');
    expect(repository.find(alice.id)!.lastActivityAt!.getTime()).toBeGreaterThan(longAgo.getTime());
    expect(await runtimes.stopIdle(60)).toEqual([]);
    // Idle-stopped, then reached again: started again.
    await runtimes.stop(CLI_CONTEXT, alice, 'idle');
    expect(await runtimes.access(CLI_CONTEXT, alice)).toBe('starting');
    await waitFor(async () => (await runtimes.status(alice)).state === 'running');
  });

  it('reports a runtime that keeps crashing after it came up as an error that names the cause', async () => {
    const runtimes = service();
    await runtimes.start(CLI_CONTEXT, alice);
    // One restart is a recovered crash (a killed gateway comes back): still running.
    Object.assign(driver.containers.get('alice')!, { restartCount: 1, health: 'healthy' });
    expect((await runtimes.status(alice)).state).toBe('running');
    Object.assign(driver.containers.get('alice')!, { restartCount: 4, health: 'starting', oomKilled: true, status: 'restarting' });
    const view = await runtimes.status(alice);
    expect(view.state).toBe('error');
    expect(view.error?.message).toMatch(/keeps running out of memory \(restarted 4 times\)/);
  });

  it('writes activity at most once a minute per user', () => {
    const runtimes = service();
    const repository = new RuntimeRepository(database.db);
    repository.ensure(alice.id, 16);
    const at = (ms: number) => new Date(Date.UTC(2026, 10, 24, 12, 0, 0) + ms);
    runtimes.recordActivity(alice, at(0));
    runtimes.recordActivity(alice, at(30_000));
    expect(repository.find(alice.id)!.lastActivityAt).toEqual(at(0));
    runtimes.recordActivity(alice, at(61_000));
    expect(repository.find(alice.id)!.lastActivityAt).toEqual(at(61_000));
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
