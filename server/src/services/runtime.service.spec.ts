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
    expect((await runtimes.stopIdle(0, {}, inAnHour)).stopped).toEqual([]);
    expect((await runtimes.stopIdle(120, {}, inAnHour)).stopped).toEqual([]);
    expect((await runtimes.stopIdle(60, {}, inAnHour)).stopped).toEqual(['alice']);
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
    expect((await runtimes.stopIdle(60, {}, inTwoHours)).stopped).toEqual([]);
    release();
    release();
    expect((await runtimes.stopIdle(60, {}, inTwoHours)).stopped).toEqual([]);
    second();
    expect((await runtimes.stopIdle(60, {}, inTwoHours)).stopped).toEqual(['alice']);
    await runtimes.start(CLI_CONTEXT, alice);
    expect((await runtimes.stopIdle(60, {}, new Date(Date.now() + 30 * 60_000))).stopped).toEqual([]);
  });

  it('leaves a runtime with its Control UI open alone, but not for ever', async () => {
    const runtimes = service();
    await runtimes.start(CLI_CONTEXT, alice);
    const minutes = (n: number) => new Date(Date.now() + n * 60_000);
    driver.clientConnectionCounts.set('alice', 1);
    expect((await runtimes.stopIdle(60, { openUiHours: 12 }, minutes(61))).stopped).toEqual([]);
    expect((await runtimes.status(alice)).state).toBe('running');
    // The page closed: idle from the last time it was seen open, not from the last click.
    driver.clientConnectionCounts.set('alice', 0);
    expect((await runtimes.stopIdle(60, { openUiHours: 12 }, minutes(61 + 30))).stopped).toEqual([]);
    expect((await runtimes.stopIdle(60, { openUiHours: 12 }, minutes(61 + 61))).stopped).toEqual(['alice']);

    // A tab forgotten open: after 12 hours with no other use, stopped all the same.
    await runtimes.start(CLI_CONTEXT, alice);
    driver.clientConnectionCounts.set('alice', 1);
    expect((await runtimes.stopIdle(60, { openUiHours: 12 }, minutes(11 * 60))).stopped).toEqual([]);
    expect((await runtimes.stopIdle(60, { openUiHours: 12 }, minutes(12 * 60 + 1))).stopped).toEqual(['alice']);
  });

  it('stops a runtime whose Control UI cannot be checked, and says so', async () => {
    const runtimes = service();
    await runtimes.start(CLI_CONTEXT, alice);
    driver.clientConnections = () => Promise.reject(new Error('exec timed out'));
    expect(await runtimes.stopIdle(60, {}, new Date(Date.now() + 61 * 60_000))).toEqual({ stopped: ['alice'], unchecked: ['alice'] });
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
    // Usage comes from the background sampler: the first read asks for it, a later one has it.
    await waitFor(async () => (await runtimes.status(alice)).usage?.memoryLimitBytes === 1024 * 2 ** 20);
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
    expect(await runtimes.reconnectRunning()).toEqual({ reconnected: ['alice'], unreachable: [] });
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
    expect((await runtimes.stopIdle(60)).stopped).toEqual([]);
    // Idle-stopped, then reached again: started again.
    await runtimes.stop(CLI_CONTEXT, alice, 'idle');
    expect(await runtimes.access(CLI_CONTEXT, alice)).toBe('starting');
    await waitFor(async () => (await runtimes.status(alice)).state === 'running');
  });

  describe('behind the platform\'s back', () => {
    let runtimes: RuntimeService;
    beforeEach(async () => {
      runtimes = service();
      runtimes.watch();
      await runtimes.start(CLI_CONTEXT, alice);
    });
    afterEach(() => runtimes.close());

    it('records a runtime killed from outside as stopped, with the cause, and wakes it on the next visit', async () => {
      const seen: RuntimeEvent[] = [];
      events.subscribe('alice', (event) => seen.push(event));
      driver.crash('alice', 137);
      await runtimes.watcher.settled();
      const view = await runtimes.status(alice);
      expect(view.state).toBe('stopped');
      expect(view.lastExit).toMatchObject({ cause: 'killed', outcome: 'stopped', exitCode: 137, signal: 'SIGKILL' });
      expect(view.notice).toMatch(/killed \(SIGKILL\).*starts it again/);
      expect(seen.at(-1)).toMatchObject({ step: 'stopped', message: view.notice });
      // The proxy's check no longer trusts a stale "running": the visit starts it again.
      expect(await runtimes.access(CLI_CONTEXT, alice)).toBe('starting');
      await waitFor(async () => (await runtimes.status(alice)).state === 'running');
      expect((await runtimes.status(alice)).lastExit).toBeNull();
    });

    it('records a runtime removed from outside as absent and makes a new one on the next visit', async () => {
      driver.destroy('alice');
      await runtimes.watcher.settled();
      expect(await runtimes.status(alice)).toMatchObject({ state: 'absent', lastExit: { cause: 'removed', outcome: 'removed' } });
      expect(await runtimes.access(CLI_CONTEXT, alice)).toBe('starting');
      await waitFor(async () => (await runtimes.status(alice)).state === 'running');
      expect(driver.createCalls).toBe(2);
    });

    it('names an out-of-memory crash that the restart policy recovered from', async () => {
      driver.crash('alice', 137, { oom: true, restarts: true });
      await runtimes.watcher.settled();
      const view = await runtimes.status(alice);
      expect(view.state).toBe('running');
      expect(view.lastExit).toMatchObject({ cause: 'out_of_memory', outcome: 'restarted', memoryMb: 2048, crashes: 1 });
      expect(view.notice).toMatch(/ran out of memory \(limit 2048 MiB\)\. It was restarted automatically/);
    });

    it('stops a runtime that keeps crashing and keeps saying so, instead of flipping between error and running', async () => {
      for (let crash = 0; crash < 3; crash += 1) driver.crash('alice', 137, { oom: true, restarts: true });
      await runtimes.watcher.settled();
      await waitFor(() => Promise.resolve(driver.containers.get('alice')!.status === 'exited'));
      for (let read = 0; read < 3; read += 1) {
        const view = await runtimes.status(alice);
        expect(view.state).toBe('error');
        expect(view.error?.message).toMatch(/kept crashing: it ran out of memory \(limit 2048 MiB\) \(3 times/);
        expect(view.error?.logs).toContain('gateway of alice');
      }
    });

    it('tells of a process killed for lack of memory while the gateway kept running', async () => {
      jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] });
      try {
        const watcher = (driver as unknown as { watchers: Set<{ onEvent(event: unknown): void }> }).watchers;
        for (const listener of watcher) listener.onEvent({ username: 'alice', containerId: driver.containers.get('alice')!.id, action: 'oom', exitCode: null, at: new Date() });
        await jest.advanceTimersByTimeAsync(3_000);
      } finally {
        jest.useRealTimers();
      }
      await runtimes.watcher.settled();
      const view = await runtimes.status(alice);
      expect(view.state).toBe('running');
      expect(view.lastExit).toMatchObject({ cause: 'out_of_memory', outcome: 'survived' });
      expect(view.notice).toMatch(/killed for lack of memory/);
    });

    it('leaves its own stops and recreates alone', async () => {
      await runtimes.stop(CLI_CONTEXT, alice);
      await new Promise((resolve) => setImmediate(resolve));
      await runtimes.watcher.settled();
      expect(await runtimes.status(alice)).toMatchObject({ state: 'stopped', lastExit: null, notice: null });
    });

    it('makes up for events it missed when its stream comes back', async () => {
      Object.assign(driver.containers.get('alice')!, { status: 'exited', exitCode: 139, address: null });
      driver.reconnect();
      await waitFor(async () => (await runtimes.status(alice)).lastExit !== null);
      expect(await runtimes.status(alice)).toMatchObject({ state: 'stopped', lastExit: { cause: 'signal', signal: 'SIGSEGV' } });
      expect(await runtimes.access(CLI_CONTEXT, alice)).toBe('starting');
    });
  });

  it('refuses limits Docker will not apply with a 409 that says why, and keeps the old ones', async () => {
    const runtimes = service();
    await runtimes.start(CLI_CONTEXT, alice);
    driver.memoryInUseBytes = 900 * 2 ** 20;
    await expect(runtimes.setLimits(CLI_CONTEXT, alice, { memoryMb: 512 })).rejects.toMatchObject({
      status: 409,
      code: 'limits_refused',
      message: expect.stringMatching(/using 900 MiB of memory right now, more than 512 MiB.*old limits are kept/),
    });
    expect((await runtimes.status(alice)).limits).toEqual({ memoryMb: 2048, cpus: 2, custom: false });
    expect(driver.containers.get('alice')!.limits.memoryBytes).toBe(2048 * 2 ** 20);
  });

  it('answers a state read without waiting for Docker\'s stats', async () => {
    const runtimes = service();
    await runtimes.start(CLI_CONTEXT, alice);
    driver.usage = () => new Promise((resolve) => setTimeout(() => resolve({ memoryBytes: 1, memoryLimitBytes: 2, cpuPercent: 0 }), 2_000));
    const began = Date.now();
    const view = await runtimes.status(alice);
    expect(Date.now() - began).toBeLessThan(500);
    expect(view.state).toBe('running');
    runtimes.close();
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
