/**
 * The part of a runtime's openclaw.json the platform owns. The runtime image's
 * entrypoint merges it into the user's file at every start (platform keys win,
 * the user's other settings stay). OpenClaw's schema is strict, so nothing but
 * real OpenClaw keys may appear here: platform metadata lives in labels and the DB.
 */
import { runtimeBasePath, runtimeOrigin, type RuntimeAddressing } from '../proxy/runtime-address';
import { GATEWAY_PORT } from './runtime-names';

export const PLATFORM_CONFIG_ENV = 'CREWCLAW_OPENCLAW_CONFIG';
export const MODEL_PROVIDER_ID = 'crewclaw';
export const DEFAULT_MODEL_ID = 'default';

export interface PlatformConfigInput {
  username: string;
  /** Where browsers load the Control UI from (RUNTIME_URL). */
  addressing: RuntimeAddressing;
  /** The proxy's fixed address on the user's network: the only source allowed to assert a user. */
  proxyAddress: string;
  modelBaseUrl: string;
  runtimeToken: string;
}

export function platformOpenClawConfig(input: PlatformConfigInput): Record<string, unknown> {
  const basePath = runtimeBasePath(input.addressing, input.username);
  return {
    gateway: {
      mode: 'local',
      bind: 'lan',
      port: GATEWAY_PORT,
      // At the root of a host of its own, OpenClaw's default base path (none) is the right one.
      controlUi: { ...(basePath ? { basePath } : {}), allowedOrigins: [runtimeOrigin(input.addressing, input.username)] },
      trustedProxies: [input.proxyAddress],
      auth: {
        mode: 'trusted-proxy',
        trustedProxy: {
          userHeader: 'x-forwarded-user',
          requiredHeaders: ['x-forwarded-proto'],
          allowUsers: [input.username],
          deviceAutoApprove: { enabled: true },
        },
      },
    },
    update: { checkOnStart: false },
    telemetry: { enabled: false },
    diagnostics: { enabled: false },
    models: {
      providers: {
        [MODEL_PROVIDER_ID]: {
          baseUrl: input.modelBaseUrl,
          apiKey: input.runtimeToken,
          api: 'openai-completions',
          request: { allowPrivateNetwork: true },
          models: [{ id: DEFAULT_MODEL_ID, name: 'CrewClaw default model', contextWindow: 128000, maxTokens: 8192 }],
        },
      },
    },
    agents: { defaults: { model: { primary: `${MODEL_PROVIDER_ID}/${DEFAULT_MODEL_ID}` } } },
  };
}
