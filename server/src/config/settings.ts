/**
 * Every setting CrewClaw reads, declared once: env name, type, default, one line
 * of help. `.env.example` and the README's configuration table are rendered from
 * this list (see env-example.ts) and a test keeps them in step.
 */
import { z } from 'zod';

export interface SettingDeclaration<T> {
  env: string;
  help: string;
  /** The value used when the variable is unset or empty; undefined means "optional, no value". */
  default?: string;
  schema: z.ZodType<T>;
  /** Never echoed back in error messages. */
  secret?: boolean;
}

function declare<T>(declaration: SettingDeclaration<T>): SettingDeclaration<T> {
  return declaration;
}

const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = (max: number) => z.coerce.number().int().min(1).max(max);

/**
 * express's "trust proxy": `false` (do not trust X-Forwarded-*), a hop count, or
 * a comma-separated list of proxy addresses/subnets.
 */
const trustProxy = z.string().transform((raw, ctx): boolean | number | string[] => {
  const value = raw.trim().toLowerCase();
  if (value === 'false' || value === '0') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  const list = value.split(',').map((part) => part.trim()).filter(Boolean);
  if (list.every((entry) => /^[0-9a-f.:/]+$/.test(entry) || ['loopback', 'linklocal', 'uniquelocal'].includes(entry))) {
    return list;
  }
  ctx.addIssue({ code: 'custom', message: 'expected false, true, a hop count, or a comma-separated list of addresses or subnets' });
  return z.NEVER;
});

/** Settings the control plane reads. */
export const serverSettings = {
  nodeEnv: declare({
    env: 'NODE_ENV',
    default: 'production',
    help: 'production, development or test; development turns on readable logs.',
    schema: z.enum(['production', 'development', 'test']),
  }),
  logLevel: declare({
    env: 'LOG_LEVEL',
    default: 'info',
    help: 'Lowest log level written: error, warn, info, http, verbose or debug.',
    schema: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug']),
  }),
  logFormat: declare({
    env: 'LOG_FORMAT',
    help: 'json (one JSON object per line) or pretty; unset means json in production, pretty otherwise.',
    schema: z.enum(['json', 'pretty']).optional(),
  }),
  host: declare({
    env: 'HOST',
    default: '0.0.0.0',
    help: 'Address the control plane listens on.',
    schema: z.string().min(1),
  }),
  port: declare({
    env: 'PORT',
    default: '3000',
    help: 'TCP port the control plane listens on.',
    schema: port,
  }),
  dataDir: declare({
    env: 'DATA_DIR',
    default: './data',
    help: 'Folder for the SQLite database, its backups and generated secrets.',
    schema: z.string().min(1),
  }),
  publicUrl: declare({
    env: 'PUBLIC_URL',
    default: 'http://localhost:8080',
    help: 'The address users type into their browser; used for allowed origins and links.',
    schema: z.url({ protocol: /^https?$/ }).transform((url) => url.replace(/\/+$/, '')),
  }),
  runtimeUrl: declare({
    env: 'RUNTIME_URL',
    default: 'http://localhost:8081',
    help: "The address browsers reach runtimes at, apart from PUBLIC_URL so that pages a runtime serves cannot act on the platform with the user's sign-in. An origin (http://localhost:8081) serves each runtime at <origin>/u/<user>/ and needs no DNS; a wildcard (https://*.crew.example.com, with wildcard DNS to this machine) gives each user a host of their own, <user>.crew.example.com, which also keeps users' agent pages apart from each other. Its port is CREWCLAW_RUNTIME_PORT's, or the platform's own port with a wildcard.",
    schema: z.url({ protocol: /^https?$/ }).transform((url) => url.replace(/\/+$/, '')),
  }),
  tlsMode: declare({
    env: 'CREWCLAW_TLS',
    default: 'off',
    help: "HTTPS in Traefik: off (plain HTTP, for localhost), file (your certificate in CREWCLAW_TLS_CERT_DIR) or acme (Let's Encrypt for PUBLIC_URL's host name, which must reach this machine on CREWCLAW_HTTPS_PORT as 443). With it on, PUBLIC_URL and RUNTIME_URL are https addresses.",
    schema: z.enum(['off', 'file', 'acme']),
  }),
  trustProxy: declare({
    env: 'TRUST_PROXY',
    default: 'false',
    help: 'Trust X-Forwarded-* headers from: false, a hop count, or comma-separated proxy addresses/subnets.',
    schema: trustProxy,
  }),
  sessionSecret: declare({
    env: 'SESSION_SECRET',
    help: 'Signs session cookies (32+ characters); unset means one is generated and kept in DATA_DIR.',
    schema: z.string().min(32, 'must be at least 32 characters').optional(),
    secret: true,
  }),
  sessionTtlHours: declare({
    env: 'SESSION_TTL_HOURS',
    default: '168',
    help: 'How long a sign-in lasts without activity, in hours.',
    schema: positiveInt(24 * 366),
  }),
  jsonBodyLimitBytes: declare({
    env: 'JSON_BODY_LIMIT_BYTES',
    default: '1048576',
    help: 'Largest JSON request body accepted, in bytes; larger bodies get 413.',
    schema: positiveInt(64 * 1024 * 1024),
  }),
  loginWindowMinutes: declare({
    env: 'LOGIN_WINDOW_MINUTES',
    default: '15',
    help: 'Window over which failed sign-ins are counted for rate limiting, in minutes.',
    schema: positiveInt(24 * 60),
  }),
  loginMaxFailuresPerIp: declare({
    env: 'LOGIN_MAX_FAILURES_PER_IP',
    default: '20',
    help: 'Failed sign-ins allowed from one IP address per window before 429.',
    schema: positiveInt(100000),
  }),
  loginMaxFailuresPerUsername: declare({
    env: 'LOGIN_MAX_FAILURES_PER_USERNAME',
    default: '10',
    help: 'Failed sign-ins allowed for one username per window before 429.',
    schema: positiveInt(100000),
  }),
  metricsToken: declare({
    env: 'METRICS_TOKEN',
    help: 'Bearer token a Prometheus scraper sends to GET /metrics (16+ characters); unset turns /metrics off (404).',
    schema: z.string().min(16, 'must be at least 16 characters').optional(),
    secret: true,
  }),
  dockerSocket: declare({
    env: 'DOCKER_SOCKET',
    default: '/var/run/docker.sock',
    help: 'Path of the Docker Engine socket the runtime manager drives.',
    schema: z.string().min(1),
  }),
  controlPlaneContainer: declare({
    env: 'CONTROL_PLANE_CONTAINER',
    help: 'Name of the container the control plane runs in (compose sets it), so it joins each user network; unset when it runs on the host.',
    schema: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'expected a container name').optional(),
  }),
  proxyContainer: declare({
    env: 'PROXY_CONTAINER',
    help: "Name of the Traefik container (compose sets it): it joins each user network, and X-Forwarded-* headers are believed from it alone; unset when no proxy runs in Docker (TRUST_PROXY applies).",
    schema: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'expected a container name').optional(),
  }),
  runtimeImage: declare({
    env: 'RUNTIME_IMAGE',
    default: 'crewclaw/runtime:dev',
    help: 'Image of the per-user OpenClaw runtimes; runtimes move to a new one on restart or upgrade.',
    schema: z.string().regex(/^[a-z0-9][a-z0-9._/:@-]*$/, 'expected an image reference such as crewclaw/runtime:1.2'),
  }),
  runtimeNamePrefix: declare({
    env: 'RUNTIME_NAME_PREFIX',
    default: 'crewclaw',
    help: 'Prefix of runtime container, volume and network names (<prefix>-rt-<user>, <prefix>-home-<user>).',
    schema: z.string().regex(/^[a-z][a-z0-9-]{0,20}$/, 'lowercase letters, digits and "-", starting with a letter'),
  }),
  runtimeMemoryMb: declare({
    env: 'RUNTIME_MEMORY_MB',
    default: '2048',
    help: 'Default memory limit of one runtime, in MiB (OpenClaw peaks near 1.2 GB at start); admins can override per user.',
    schema: z.coerce.number().int().min(512).max(1024 * 1024),
  }),
  runtimeCpus: declare({
    env: 'RUNTIME_CPUS',
    default: '2',
    help: 'Default CPU limit of one runtime, in CPUs (fractions allowed); admins can override per user.',
    schema: z.coerce.number().min(0.1).max(512),
  }),
  runtimePidsLimit: declare({
    env: 'RUNTIME_PIDS_LIMIT',
    default: '512',
    help: 'Most processes one runtime may run.',
    schema: positiveInt(1_000_000),
  }),
  runtimeStartTimeoutSeconds: declare({
    env: 'RUNTIME_START_TIMEOUT_SECONDS',
    default: '180',
    help: 'How long a runtime may take from start to a healthy /healthz before it is reported as failed.',
    schema: positiveInt(3600),
  }),
  runtimeSubnetPool: declare({
    env: 'RUNTIME_SUBNET_POOL',
    default: '10.213.0.0/16',
    help: 'Private IPv4 range carved into one /28 network per user; must not overlap other networks on the host.',
    schema: z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/(8|9|1\d|2[0-4])$/, 'expected an IPv4 CIDR from /8 to /24, such as 10.213.0.0/16'),
  }),
  runtimeModelBaseUrl: declare({
    env: 'RUNTIME_MODEL_BASE_URL',
    default: 'http://control-plane:3000/v1',
    help: "Base URL of the control plane's model endpoint as runtimes reach it on their network.",
    schema: z.url({ protocol: /^https?$/ }).transform((url) => url.replace(/\/+$/, '')),
  }),
  litellmUrl: declare({
    env: 'LITELLM_URL',
    default: 'http://litellm:4000',
    help: "Where the control plane reaches the LiteLLM sidecar (the model gateway's upstream). Nothing else reaches it.",
    schema: z.url({ protocol: /^https?$/ }).transform((url) => url.replace(/\/+$/, '')),
  }),
  litellmMasterKey: declare({
    env: 'LITELLM_MASTER_KEY',
    help: "The key the control plane calls LiteLLM with (LiteLLM's master key). Unset: one is made on first start and kept in LiteLLM's configuration file.",
    schema: z.string().min(16, 'must be at least 16 characters').optional(),
    secret: true,
  }),
  litellmConfigFile: declare({
    env: 'LITELLM_CONFIG_FILE',
    help: "LiteLLM's configuration, written by the control plane from the models and providers an admin set up (provider keys typed in the web UI are kept there only). Unset: litellm/config.yaml in DATA_DIR.",
    schema: z.string().min(1).optional(),
  }),
  litellmContainer: declare({
    env: 'LITELLM_CONTAINER',
    help: "The LiteLLM container the control plane restarts when the model configuration changes (compose sets it). Unset: LiteLLM runs elsewhere; restart it yourself after a change.",
    schema: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'expected a container name').optional(),
  }),
  modelDailyTokens: declare({
    env: 'MODEL_DAILY_TOKENS',
    default: '0',
    help: 'Default model budget per user: prompt plus completion tokens per UTC day; 0 = no limit. Admins can set each user\'s own.',
    schema: z.coerce.number().int().min(0),
  }),
  modelMonthlyTokens: declare({
    env: 'MODEL_MONTHLY_TOKENS',
    default: '0',
    help: 'Default model budget per user: tokens per UTC calendar month; 0 = no limit.',
    schema: z.coerce.number().int().min(0),
  }),
  modelDailyCostUsd: declare({
    env: 'MODEL_DAILY_COST_USD',
    default: '0',
    help: 'Default model budget per user: US dollars per UTC day, by the models\' prices; 0 = no limit.',
    schema: z.coerce.number().min(0),
  }),
  modelMonthlyCostUsd: declare({
    env: 'MODEL_MONTHLY_COST_USD',
    default: '0',
    help: 'Default model budget per user: US dollars per UTC calendar month; 0 = no limit.',
    schema: z.coerce.number().min(0),
  }),
  modelRequestsPerMinute: declare({
    env: 'MODEL_REQUESTS_PER_MINUTE',
    default: '60',
    help: 'Default most model requests per user per minute; 0 = no limit.',
    schema: z.coerce.number().int().min(0),
  }),
  modelConcurrentRequests: declare({
    env: 'MODEL_CONCURRENT_REQUESTS',
    default: '8',
    help: 'Default most model requests of one user running at once; 0 = no limit.',
    schema: z.coerce.number().int().min(0),
  }),
  modelBodyLimitBytes: declare({
    env: 'MODEL_BODY_LIMIT_BYTES',
    default: '16777216',
    help: 'Largest request to the model endpoint (/v1), in bytes: a chat carries its whole history; larger ones get 413.',
    schema: positiveInt(256 * 1024 * 1024),
  }),
  idleStopMinutes: declare({
    env: 'IDLE_STOP_MINUTES',
    default: '60',
    help: 'Stop a runtime after this many minutes without use (its volume is kept); 0 never stops it.',
    schema: z.coerce.number().int().min(0).max(60 * 24 * 365),
  }),
  idleStopOpenUiHours: declare({
    env: 'IDLE_STOP_OPEN_UI_HOURS',
    default: '12',
    help: 'A Control UI open in a browser keeps its runtime from the idle stop, for at most this many hours since the runtime was last used otherwise (a page load, a file transfer, a model call), so a tab forgotten open does not keep it up for ever; 0 = for as long as it is open.',
    schema: z.coerce.number().int().min(0).max(24 * 365),
  }),
  maxUploadBytes: declare({
    env: 'MAX_UPLOAD_BYTES',
    default: String(2 * 1024 ** 3),
    help: 'Largest single file accepted by an upload, in bytes (default 2 GiB); larger files get 413.',
    schema: positiveInt(Number.MAX_SAFE_INTEGER),
  }),
  auditRetentionDays: declare({
    env: 'AUDIT_RETENTION_DAYS',
    default: '365',
    help: 'Audit log entries older than this many days are deleted (at start and once a day); 0 keeps them for ever.',
    schema: z.coerce.number().int().min(0).max(365 * 100),
  }),
  maxTextEditBytes: declare({
    env: 'MAX_TEXT_EDIT_BYTES',
    default: String(10 * 1024 ** 2),
    help: 'Largest body of a text edit saved with PUT /api/files/content, in bytes.',
    schema: positiveInt(1024 ** 3),
  }),
};

/** Settings only docker compose reads (interpolated into compose.yaml); listed so .env.example documents them. */
export const deploymentSettings: SettingDeclaration<string>[] = [
  declare({
    env: 'CREWCLAW_HTTP_BIND',
    default: '127.0.0.1',
    help: 'Host address both ports are published on; 0.0.0.0 exposes them to the network.',
    schema: z.string(),
  }),
  declare({
    env: 'CREWCLAW_HTTP_PORT',
    default: '8080',
    help: 'Host port the platform (PUBLIC_URL) is published on, by Traefik.',
    schema: z.string(),
  }),
  declare({
    env: 'CREWCLAW_HTTPS_PORT',
    default: '8443',
    help: 'Host port the platform is published on over HTTPS when CREWCLAW_TLS is on (443 for a public server; plain HTTP then only redirects there).',
    schema: z.string(),
  }),
  declare({
    env: 'CREWCLAW_TLS_CERT_DIR',
    default: './traefik/certs',
    help: 'With CREWCLAW_TLS set to file: the folder holding cert.pem (full chain) and key.pem for the host names of PUBLIC_URL and RUNTIME_URL.',
    schema: z.string(),
  }),
  declare({
    env: 'CREWCLAW_ACME_EMAIL',
    default: '',
    help: "With CREWCLAW_TLS set to acme: the address Let's Encrypt writes to about your certificates (optional).",
    schema: z.string(),
  }),
  declare({
    env: 'CREWCLAW_ACME_CA_SERVER',
    default: 'https://acme-v02.api.letsencrypt.org/directory',
    help: "With CREWCLAW_TLS set to acme: the ACME directory (Let's Encrypt's staging one to try things out, or your own CA's).",
    schema: z.string(),
  }),
  declare({
    env: 'CREWCLAW_RUNTIME_PORT',
    default: '8081',
    help: "Host port of the runtime origin (RUNTIME_URL), where each user's OpenClaw is served, by Traefik.",
    schema: z.string(),
  }),
  declare({
    env: 'CREWCLAW_DOCKER_GID',
    default: '',
    help: 'Group id of /var/run/docker.sock, which the unprivileged Traefik joins to read it; scripts/start.sh writes it to .env.',
    schema: z.string(),
  }),
  declare({
    env: 'CREWCLAW_ENV_FILE',
    default: '.env',
    help: "Settings file the control plane reads instead of .env (the tests run a stack of their own with it).",
    schema: z.string(),
  }),
  declare({
    env: 'CREWCLAW_DATA_VOLUME',
    default: 'crewclaw-data',
    help: 'Docker volume holding the control plane\'s data (database, generated secrets).',
    schema: z.string(),
  }),
  declare({
    env: 'CREWCLAW_TRAEFIK_VERSION',
    default: 'v3.6.12',
    help: 'Traefik image tag compose runs and scripts/build-images.sh builds when it cannot be pulled.',
    schema: z.string(),
  }),
  declare({
    env: 'CREWCLAW_VERSION',
    default: 'dev',
    help: 'Tag of the CrewClaw images compose runs.',
    schema: z.string(),
  }),
  // Provider keys for LiteLLM (compose passes these, and only these, to it), used by providers an admin
  // set up without typing a key. The control plane only checks whether each is set.
  ...(
    [
      ['OPENAI_API_KEY', 'OpenAI'],
      ['ANTHROPIC_API_KEY', 'Anthropic'],
      ['OPENROUTER_API_KEY', 'OpenRouter'],
      ['GEMINI_API_KEY', 'Google Gemini'],
      ['MISTRAL_API_KEY', 'Mistral'],
      ['GROQ_API_KEY', 'Groq'],
      ['DEEPSEEK_API_KEY', 'DeepSeek'],
    ] as const
  ).map(([env, provider]) =>
    declare({
      env,
      help: `${provider} API key for LiteLLM, for ${provider} providers set up without a key of their own (Models page); never given to a runtime.`,
      schema: z.string(),
      secret: true,
    }),
  ),
];
