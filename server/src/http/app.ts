/**
 * Builds the app from ready-made services: the model endpoint (/v1) on its own, and for the rest the
 * Express app: middleware order, the API routes, the web UI, and the one error handler. Nothing here reads
 * config or opens resources; the composition root (platform.ts) does that.
 */
import type { RequestListener } from 'node:http';
import express, { type RequestHandler } from 'express';
import proxyaddr from 'proxy-addr';
import helmet from 'helmet';
import type { Csrf } from '../auth/csrf';
import type { PassportInstance } from '../auth/passport';
import type { Logger } from '../logging/logger';
import type { AuditService } from '../services/audit.service';
import type { AuthService } from '../services/auth.service';
import type { SetupService } from '../services/setup.service';
import type { UserService } from '../services/user.service';
import { apiNotFound, errorHandler } from './error-handler';
import { isModelEndpointPath, modelEndpoint } from './model-endpoint';
import { refuseRuntimeNetworks } from './runtime-networks';
import type { ModelGateway } from '../models/model-gateway.service';
import type { ModelCatalogService } from '../services/model-catalog.service';
import type { ModelUsageService } from '../services/model-usage.service';
import { modelsAdminRoutes } from './routes/models-admin.routes';
import { adminUsageRoutes, myUsageRoutes } from './routes/usage.routes';
import { requestId } from './request-id';
import { requestLog } from './request-log';
import { requestMetrics } from './request-metrics';
import { metricsRoutes } from './routes/metrics.routes';
import type { PlatformObserver } from '../metrics/observers';
import type { Readiness } from '../services/readiness.service';
import { auditRoutes } from './routes/audit.routes';
import { forwardAuthRoutes, runtimeFallbackRoutes } from './routes/forward-auth.routes';
import { runtimeSignInRoutes } from './routes/runtime-sign-in.routes';
import { refuseTossedSessionCookies } from '../auth/tossed-cookies';
import { authRoutes } from './routes/auth.routes';
import { healthRoutes } from './routes/health.routes';
import { meRoutes } from './routes/me.routes';
import { setupRoutes } from './routes/setup.routes';
import { usersRoutes } from './routes/users.routes';
import { adminRuntimesRoutes } from './routes/admin-runtimes.routes';
import { runtimeRoutes } from './routes/runtime.routes';
import type { RuntimeEvents } from '../services/runtime-events';
import type { SessionEvents } from '../services/session-events';
import type { RuntimeService } from '../services/runtime.service';
import { staticWeb } from './static-web';
import { filesRoutes } from './routes/files.routes';
import { runtimeLinkRoutes } from './routes/runtime-links.routes';
import type { RuntimeEntry } from './runtime-visitor';
import type { FilesService } from '../services/files.service';
import { requireAdmin, requireUser } from '../auth/guards';
import { adminTarget, ownRuntime } from './owners';

export interface AppDependencies {
  logger: Logger;
  publicUrl: string;
  /** Where runtimes are served (RUNTIME_URL) and how a browser signs in there. */
  runtimeEntry: RuntimeEntry;
  /** express's "trust proxy": a setting, or a test of the connection's peer address. */
  trustProxy: boolean | number | string[] | ((address: string, hop: number) => boolean);
  jsonBodyLimitBytes: number;
  session: RequestHandler;
  /** The session cookie's name (auth/session.ts). */
  sessionCookie: string;
  passport: PassportInstance;
  csrf: Csrf;
  loginRateLimit: RequestHandler[];
  readiness: { check(): Promise<Readiness> };
  /** What the app feeds into the metrics, and GET /metrics (off without a token). */
  metrics: { observer: PlatformObserver; render(): Promise<{ contentType: string; body: string }>; token: string | undefined };
  services: { auth: AuthService; users: UserService; setup: SetupService; audit: AuditService; runtimes: RuntimeService; runtimeEvents: RuntimeEvents; sessionEvents: SessionEvents; files: FilesService; models: ModelCatalogService; modelUsage: ModelUsageService };
  fileLimits: { maxUploadBytes: number; maxTextEditBytes: number };
  /** The model endpoint (/v1), and the runtimes' networks, from which nothing else answers. */
  models: { gateway: ModelGateway; bodyLimitBytes: number; runtimeSubnetPool: string };
  webDir?: string;
}

/**
 * What the HTTP server calls for each request. The model endpoint is answered first, before Express and
 * the platform's middleware, which are for people in browsers (model-endpoint.ts says why).
 */
export function createApp(deps: AppDependencies): RequestListener {
  const platform = createPlatformApp(deps);
  const trust = platform.get('trust proxy fn') as Parameters<typeof proxyaddr>[1];
  const models = modelEndpoint(deps.models.gateway, {
    bodyLimitBytes: deps.models.bodyLimitBytes,
    logger: deps.logger,
    clientIp: (req) => proxyaddr(req, trust),
    observer: deps.metrics.observer,
  });
  return (req, res) => {
    if (isModelEndpointPath(req.url)) models(req, res);
    else platform(req, res);
  };
}

function createPlatformApp(deps: AppDependencies): express.Express {
  const app = express();
  app.set('trust proxy', deps.trustProxy);
  app.set('x-powered-by', false);
  app.set('etag', false);

  app.use(requestId());
  app.use(requestLog(deps.logger));
  app.use(requestMetrics(deps.metrics.observer));
  // Over plain http (a homelab box, a laptop) HSTS and upgrade-insecure-requests would break the UI.
  const https = deps.publicUrl.startsWith('https:');
  app.use(
    helmet({
      strictTransportSecurity: https,
      contentSecurityPolicy: { directives: { upgradeInsecureRequests: https ? [] : null } },
    }),
  );

  // Runtimes reach the control plane on their own networks for one thing only: the model endpoint.
  app.use(refuseRuntimeNetworks(deps.models.runtimeSubnetPool));
  app.use(metricsRoutes(deps.metrics, deps.metrics.token));

  const api = express.Router();
  api.use(healthRoutes(deps.readiness));
  // File content (a text edit's PUT, a file sent as the plain body of an upload) must arrive as sent,
  // even when it is JSON.
  const carriesFileContent = (req: express.Request) => (req.method === 'PUT' && req.path.endsWith('/content')) || (req.method === 'POST' && req.path.endsWith('/upload'));
  api.use(express.json({ limit: deps.jsonBodyLimitBytes, type: (req) => !carriesFileContent(req as express.Request) && Boolean((req as express.Request).is('application/json')) }));
  api.use(refuseTossedSessionCookies(deps.sessionCookie));
  api.use(deps.session);
  api.use(deps.passport.initialize());
  api.use(deps.passport.session());
  api.use(deps.csrf.protect);
  api.use('/setup', setupRoutes(deps.services.setup, deps.csrf));
  api.use('/auth/forward', forwardAuthRoutes(deps.services.runtimes, deps.runtimeEntry));
  // Traefik's fallback on the runtime origin rewrites every path it takes to this one (traefik/dynamic.yml).
  api.use('/auth/runtime-fallback', runtimeFallbackRoutes(deps.services.runtimes, deps.runtimeEntry));
  api.use('/auth/runtime-sign-in', runtimeSignInRoutes(deps.runtimeEntry));
  api.use('/auth', authRoutes({ auth: deps.services.auth, passport: deps.passport, csrf: deps.csrf, loginRateLimit: deps.loginRateLimit, sessionCookie: deps.sessionCookie }));
  api.use('/me/usage', myUsageRoutes(deps.services.modelUsage, deps.services.models));
  api.use('/me', meRoutes(deps.services.users, deps.csrf));
  api.use('/users', usersRoutes(deps.services.users));
  api.use(auditRoutes(deps.services.audit));
  api.use('/runtime', runtimeRoutes(deps.services.runtimes, deps.services.runtimeEvents, deps.services.sessionEvents));
  api.use('/admin/runtimes', adminRuntimesRoutes(deps.services.runtimes, deps.services.users));
  api.use('/admin', modelsAdminRoutes(deps.services.models, deps.services.modelUsage, deps.models.gateway), adminUsageRoutes(deps.services.modelUsage));
  api.use('/files', requireUser, filesRoutes(deps.services.files, ownRuntime, deps.fileLimits, deps.metrics.observer));
  api.use('/admin/files/:username', requireAdmin, filesRoutes(deps.services.files, adminTarget(deps.services.users), deps.fileLimits, deps.metrics.observer));
  api.use(apiNotFound);

  app.use('/api', api);
  // Runtimes are served on their own origin only; an old link or bookmark to /u/<user> here goes there.
  app.use(runtimeLinkRoutes(deps.runtimeEntry.addressing));
  app.use(staticWeb(deps.webDir));
  app.use(errorHandler(deps.logger));
  return app;
}
