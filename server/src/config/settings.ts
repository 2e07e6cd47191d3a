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
};

/** Settings only docker compose reads (interpolated into compose.yaml); listed so .env.example documents them. */
export const deploymentSettings: SettingDeclaration<string>[] = [
  declare({
    env: 'CREWCLAW_HTTP_BIND',
    default: '127.0.0.1',
    help: 'Host address the platform is published on; 0.0.0.0 exposes it to the network.',
    schema: z.string(),
  }),
  declare({
    env: 'CREWCLAW_HTTP_PORT',
    default: '8080',
    help: 'Host port the platform is published on.',
    schema: z.string(),
  }),
  declare({
    env: 'CREWCLAW_VERSION',
    default: 'dev',
    help: 'Tag of the CrewClaw images compose runs.',
    schema: z.string(),
  }),
];
