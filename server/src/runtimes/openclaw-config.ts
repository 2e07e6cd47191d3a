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
/** The model id that always means "the user's default model", whichever an admin makes it. */
export const DEFAULT_MODEL_ID = 'default';

/** A model a user may use, as their OpenClaw is told of it. */
export interface OfferedModel {
  name: string;
  contextWindow: number;
  maxTokens: number;
}

export interface OfferedModels {
  models: OfferedModel[];
  /** The one `default` stands for; null when the user may use none. */
  default: OfferedModel | null;
}

export interface PlatformConfigInput {
  username: string;
  /** Where browsers load the Control UI from (RUNTIME_URL). */
  addressing: RuntimeAddressing;
  /** The proxy's fixed address on the user's network: the only source allowed to assert a user. */
  proxyAddress: string;
  modelBaseUrl: string;
  runtimeToken: string;
  models: OfferedModels;
}

/**
 * The models in OpenClaw's terms: `default` first (it follows the admin's choice without a config
 * change), then each model by the name users know it by. With none, `default` alone, whose calls are
 * answered that no model is set up yet.
 */
function openClawModels(offered: OfferedModels) {
  const fallback = offered.default ?? { name: '', contextWindow: 128000, maxTokens: 8192 };
  return [
    { id: DEFAULT_MODEL_ID, name: offered.default ? `Default (${offered.default.name})` : 'Default (no model set up yet)', contextWindow: fallback.contextWindow, maxTokens: fallback.maxTokens },
    ...offered.models.map((model) => ({ id: model.name, name: model.name, contextWindow: model.contextWindow, maxTokens: model.maxTokens })),
  ];
}

/** The part of openclaw.json that changes with the model catalog, to merge into a running runtime's file. */
export function openClawModelsPart(offered: OfferedModels): Record<string, unknown> {
  return { models: { providers: { [MODEL_PROVIDER_ID]: { models: openClawModels(offered) } } } };
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
          models: openClawModels(input.models),
        },
      },
    },
    agents: { defaults: { model: { primary: `${MODEL_PROVIDER_ID}/${DEFAULT_MODEL_ID}` } } },
  };
}
