/**
 * The composition root: from config, a logger and an open database, build the
 * repositories, services and the HTTP app. main.ts, the admin CLI and the
 * integration tests all assemble the platform here, the same way.
 */
import type { RequestListener } from 'node:http';
import { createCsrf } from './auth/csrf';
import { createLoginRateLimit } from './auth/login-rate-limit';
import { createPassport } from './auth/passport';
import { createSessionMiddleware, sessionCookieName } from './auth/session';
import type { Config } from './config/config';
import { resolveSessionSecret } from './config/session-secret';
import { isDatabaseAlive, type DatabaseHandle } from './db/client';
import { migrationStatus } from './db/migrate';
import { RUNTIME_STATES } from './db/schema';
import { PlatformMetrics } from './metrics/platform-metrics';
import { NO_METRICS, type PlatformObserver } from './metrics/observers';
import { ReadinessService } from './services/readiness.service';
import { createApp } from './http/app';
import type { Logger } from './logging/logger';
import { AuditRepository } from './repositories/audit.repository';
import { SessionRepository } from './repositories/session.repository';
import { UserRepository } from './repositories/user.repository';
import { AuditService } from './services/audit.service';
import { AuthService } from './services/auth.service';
import { PasswordHasher } from './services/password-hasher';
import { SetupService } from './services/setup.service';
import { UserService } from './services/user.service';
import { RuntimeRepository } from './repositories/runtime.repository';
import { RuntimeEvents } from './services/runtime-events';
import { SessionEvents } from './services/session-events';
import { FilesService } from './services/files.service';
import { RuntimeService, type RuntimeSettings } from './services/runtime.service';
import { DockerDriver } from './runtimes/docker/docker-driver';
import { probeGatewayHealth } from './runtimes/health-probe';
import type { RuntimeDriver } from './runtimes/runtime-driver';
import { ProxyPeer } from './proxy/proxy-peer';
import { runtimeAddressing } from './proxy/runtime-address';
import { RuntimeHostSessionRepository } from './repositories/runtime-host-session.repository';
import { RuntimeHandoff } from './services/runtime-handoff';
import { LiteLlmClient } from './models/litellm-client';
import { ModelGateway } from './models/model-gateway.service';
import { ModelCallRepository } from './repositories/model-call.repository';
import { ModelCatalogRepository } from './repositories/model-catalog.repository';
import { createLogger } from './logging/logger';
import { LiteLlmConfigFile } from './models/litellm-config-file';
import { ModelAdmission } from './models/model-admission';
import type { ModelLimits } from './models/model-limits';
import type { OfferedModels } from './runtimes/openclaw-config';
import { LiteLlmSidecar } from './services/litellm-sidecar';
import { ModelCatalogService } from './services/model-catalog.service';
import { ModelUsageService } from './services/model-usage.service';
import { RuntimeModelPush } from './services/runtime-model-push';

const sessionTtlMs = (config: Config) => config.sessionTtlHours * 3_600_000;

export function modelLimitDefaults(config: Config): ModelLimits {
  return {
    dailyTokens: config.modelDailyTokens,
    monthlyTokens: config.modelMonthlyTokens,
    dailyCostUsd: config.modelDailyCostUsd,
    monthlyCostUsd: config.modelMonthlyCostUsd,
    requestsPerMinute: config.modelRequestsPerMinute,
    concurrentRequests: config.modelConcurrentRequests,
  };
}

export function runtimeSettings(config: Config, modelsFor?: (userId: number) => OfferedModels): RuntimeSettings {
  return {
    modelsFor,
    image: config.runtimeImage,
    namePrefix: config.runtimeNamePrefix,
    memoryMb: config.runtimeMemoryMb,
    cpus: config.runtimeCpus,
    pidsLimit: config.runtimePidsLimit,
    startTimeoutSeconds: config.runtimeStartTimeoutSeconds,
    subnetPool: config.runtimeSubnetPool,
    addressing: runtimeAddressing(config.runtimeUrl),
    // Not RUNTIME_URL's scheme: with TLS done by another proxy in front, Traefik itself speaks plain HTTP.
    runtimeTls: config.tlsMode !== 'off',
    modelBaseUrl: config.runtimeModelBaseUrl,
  };
}

export function createDriver(config: Config): RuntimeDriver {
  return new DockerDriver({
    socketPath: config.dockerSocket,
    prefix: config.runtimeNamePrefix,
    subnetPool: config.runtimeSubnetPool,
    controlPlaneContainer: config.controlPlaneContainer,
    proxyContainer: config.proxyContainer,
  });
}

export function createServices(
  database: DatabaseHandle,
  config: Config,
  driver: RuntimeDriver = createDriver(config),
  logger: Logger = createLogger({ level: 'warn', format: config.logFormat }),
  observer: PlatformObserver = NO_METRICS,
) {
  const users = new UserRepository(database.db);
  const sessions = new SessionRepository(database.db);
  const runtimeHandoff = new RuntimeHandoff(new RuntimeHostSessionRepository(database.db), sessions, sessionTtlMs(config));
  const hasher = new PasswordHasher();
  const audit = new AuditService(new AuditRepository(database.db));
  const runtimeEvents = new RuntimeEvents();
  const sessionEvents = new SessionEvents();
  const runtimeRecords = new RuntimeRepository(database.db);
  const litellm = new LiteLlmClient({ url: config.litellmUrl, masterKey: config.litellmMasterKey });
  const sidecar = new LiteLlmSidecar(new LiteLlmConfigFile(config.litellmConfigPath), driver, litellm, logger, {
    container: config.litellmContainer ?? null,
    masterKey: config.litellmMasterKey,
    readyTimeoutMs: 180_000,
  });
  const catalogRecords = new ModelCatalogRepository(database.db);
  const modelCalls = new ModelCallRepository(database.db);
  const models = new ModelCatalogService(catalogRecords, users, sidecar, new RuntimeModelPush(driver, runtimeRecords, logger), audit, logger, config.providerKeysInEnv);
  const modelUsage = new ModelUsageService(modelCalls, catalogRecords, users, audit, modelLimitDefaults(config));
  const runtimes = new RuntimeService(driver, runtimeRecords, audit, runtimeEvents, probeGatewayHealth, runtimeSettings(config, (userId) => models.offeredTo(userId)), {}, observer);
  return {
    repositories: { users, sessions, runtimes: runtimeRecords, modelCalls },
    litellm,
    models,
    modelUsage,
    audit,
    auth: new AuthService(users, hasher, audit, observer),
    users: new UserService(users, sessions, hasher, audit, runtimes, sessionEvents),
    setup: new SetupService(users, hasher, audit),
    runtimes,
    runtimeEvents,
    sessionEvents,
    files: new FilesService(driver, runtimes, audit),
    runtimeHandoff,
  };
}

export interface Platform {
  app: RequestListener;
  /** The services behind the app, for the platform's own timers and for tests that drive them. */
  services: ReturnType<typeof createServices>;
  close(): void;
}

export function createPlatform(config: Config, logger: Logger, database: DatabaseHandle, options: { webDir?: string; driver?: RuntimeDriver } = {}): Platform {
  const driver = options.driver ?? createDriver(config);
  // Runtimes by state are counted from the database when Prometheus asks (metrics/platform-metrics.ts), by
  // the services' own repository: the services are made with the metrics, so it is reached once they exist.
  const metrics = new PlatformMetrics({ runtimeStates: RUNTIME_STATES, runtimesByState: () => services.repositories.runtimes.countByState() });
  const services = createServices(database, config, driver, logger, metrics);
  // With the proxy in a container, it is joined to runtimes' networks and is the one source of X-Forwarded-*.
  const proxy = config.proxyContainer
    ? new ProxyPeer(driver, config.proxyContainer, {
        reconnectRunning: () => services.runtimes.reconnectRunning(),
        onRejoined: ({ reconnected, unreachable }) => {
          if (reconnected.length > 0) logger.info('the proxy joined the networks of running runtimes', { users: reconnected });
          if (unreachable.length > 0) logger.warn('running runtimes the proxy cannot join; restart them', { users: unreachable });
        },
        onError: (error) => logger.warn('could not check the proxy container', { error }),
      })
    : null;
  proxy?.begin();
  // Only when Traefik terminates TLS is every request https: behind another proxy that does, the
  // scheme Traefik reports is http, and a __Host- cookie without Secure would be dropped by browsers.
  const httpsOnly = config.tlsMode !== 'off';
  const sessionCookie = sessionCookieName({ httpsOnly });
  const { middleware: session, store } = createSessionMiddleware({
    cookieName: sessionCookie,
    httpsOnly,
    secret: resolveSessionSecret(config),
    ttlHours: config.sessionTtlHours,
    sessions: services.repositories.sessions,
    events: services.sessionEvents,
  });
  const isReady = () => {
    if (!isDatabaseAlive(database)) return false;
    const status = migrationStatus(database);
    return status.pending === 0 && status.unknown === 0;
  };
  // LiteLLM's configuration as the catalog stands (an upgrade may render it differently).
  services.models.apply();
  services.models.watchPrices();
  const modelGateway = new ModelGateway(
    services.repositories.runtimes,
    services.repositories.modelCalls,
    services.litellm,
    services.models,
    new ModelAdmission({ since: (userId, since) => services.repositories.modelCalls.spentSince(userId, since) }, { maxWaitMs: 60_000 }),
    (userId) => services.modelUsage.limitsFor(userId),
    (caller) => services.runtimes.recordActivity(caller),
    logger,
    metrics,
  );
  const readiness = new ReadinessService({ database: isReady, driver, litellm: () => services.models.status(), proxy });
  const app = createApp({
    logger,
    publicUrl: config.publicUrl,
    runtimeEntry: {
      publicUrl: config.publicUrl,
      addressing: runtimeAddressing(config.runtimeUrl),
      handoff: services.runtimeHandoff,
      sessionTtlMs: sessionTtlMs(config),
    },
    // Only the peer itself: Traefik replaces whatever X-Forwarded-* a client sent with what it saw.
    trustProxy: proxy ? (address: string, hop: number) => hop === 0 && proxy.isProxy(address) : config.trustProxy,
    jsonBodyLimitBytes: config.jsonBodyLimitBytes,
    session,
    sessionCookie,
    passport: createPassport(services.auth, services.users),
    csrf: createCsrf(config.publicUrl),
    loginRateLimit: createLoginRateLimit({
      windowMinutes: config.loginWindowMinutes,
      maxFailuresPerIp: config.loginMaxFailuresPerIp,
      maxFailuresPerUsername: config.loginMaxFailuresPerUsername,
    }),
    readiness,
    metrics: { observer: metrics, render: () => metrics.render(), token: config.metricsToken },
    services,
    fileLimits: { maxUploadBytes: config.maxUploadBytes, maxTextEditBytes: config.maxTextEditBytes },
    models: { gateway: modelGateway, bodyLimitBytes: config.modelBodyLimitBytes, runtimeSubnetPool: config.runtimeSubnetPool },
    webDir: options.webDir,
  });
  // Runtimes killed, removed or crashing behind the platform's back are noticed as it happens.
  services.runtimes.watch((error: unknown) => logger.warn('runtime event handling failed', { error }));
  // Runtimes that kept running while the control plane was away get its network memberships back.
  services.runtimes.reconnectRunning().then(
    ({ reconnected, unreachable }) => {
      if (reconnected.length > 0) logger.info('reconnected to running runtimes', { users: reconnected });
      if (unreachable.length > 0) {
        logger.warn('running runtimes the control plane cannot rejoin (a network from an older version?); restart them, or upgrade them from the admin API', { users: unreachable });
      }
    },
    (error: unknown) => logger.warn('could not reconnect to running runtimes; each rejoins at its next start', { error }),
  );
  // Idle runtimes are stopped by a sweep once a minute; their files stay in their volumes. A sweep
  // still running (Docker slow) is not joined by the next one.
  let sweeping = false;
  const idleSweep = setInterval(() => {
    // Events missed while Docker's stream was down are made up for here too.
    services.runtimes.reconcile().then(
      (corrected) => corrected.length > 0 && logger.info('runtimes found down without an event', { users: corrected }),
      (error: unknown) => logger.warn('runtime reconcile failed', { error }),
    );
    if (sweeping) return;
    sweeping = true;
    services.runtimes
      .stopIdle(config.idleStopMinutes, { openUiHours: config.idleStopOpenUiHours })
      .then(
        ({ stopped, unchecked }) => {
          if (stopped.length > 0) logger.info('stopped idle runtimes', { users: stopped });
          if (unchecked.length > 0) logger.warn('could not tell whether these idle runtimes have their Control UI open; treated as closed', { users: unchecked });
        },
        (error: unknown) => logger.warn('idle runtime sweep failed', { error }),
      )
      .finally(() => {
        sweeping = false;
      });
  }, 60_000);
  idleSweep.unref();
  // The audit trail keeps AUDIT_RETENTION_DAYS: pruned now and once a day. Not audited itself (it would
  // add to what it trims); the log says how much went.
  const pruneAudit = () => {
    try {
      const removed = services.audit.prune(config.auditRetentionDays);
      if (removed > 0) logger.info('pruned old audit log entries', { removed, retentionDays: config.auditRetentionDays });
    } catch (error: unknown) {
      logger.warn('audit log prune failed', { error });
    }
  };
  pruneAudit();
  const auditPrune = setInterval(pruneAudit, 86_400_000);
  auditPrune.unref();
  return {
    app,
    services,
    close: () => {
      clearInterval(idleSweep);
      clearInterval(auditPrune);
      services.models.stop();
      proxy?.end();
      services.runtimes.close();
      store.close();
    },
  };
}
