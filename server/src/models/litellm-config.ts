/**
 * LiteLLM's configuration, made from the model catalog. The control plane is its only author: it holds
 * the master key the control plane calls LiteLLM with, and the provider keys an admin typed in the web
 * UI. Those keys live nowhere else: not in SQLite, not in a runtime, not in a log. Each is written in
 * the entries of its provider's models (LiteLLM 1.108 does not resolve an `os.environ/` reference to a
 * variable the same file sets) and once more by provider id under `environment_variables`, from where
 * the next write reads it back (readSecrets), models or not.
 */
import { parse, stringify } from 'yaml';
import { PROVIDER_KIND_INFO, type ProviderKind } from './provider-kinds';

export interface ConfigProvider {
  id: number;
  kind: ProviderKind;
  baseUrl: string | null;
}

export interface ConfigModel {
  name: string;
  providerId: number;
  upstreamModel: string;
  enabled: boolean;
  inputPricePerMTok: number | null;
  outputPricePerMTok: number | null;
}

export interface LiteLlmSecrets {
  masterKey: string | null;
  /** Stored provider keys by provider id. */
  providerKeys: Map<number, string>;
}

const KEY_VARIABLE = /^CREWCLAW_PROVIDER_(\d+)_API_KEY$/;
export const providerKeyVariable = (providerId: number) => `CREWCLAW_PROVIDER_${providerId}_API_KEY`;

/** The secrets an earlier write left in the file; nothing when there is no file yet or it is not ours. */
export function readSecrets(text: string | null): LiteLlmSecrets {
  const secrets: LiteLlmSecrets = { masterKey: null, providerKeys: new Map() };
  if (!text) return secrets;
  let document: unknown;
  try {
    document = parse(text, { version: '1.1' });
  } catch {
    return secrets;
  }
  if (typeof document !== 'object' || document === null) return secrets;
  const { general_settings: general, environment_variables: variables } = document as Record<string, unknown>;
  const masterKey = (general as Record<string, unknown> | null | undefined)?.master_key;
  if (typeof masterKey === 'string' && masterKey.length > 0) secrets.masterKey = masterKey;
  for (const [name, value] of Object.entries((variables as Record<string, unknown> | null | undefined) ?? {})) {
    const id = KEY_VARIABLE.exec(name)?.[1];
    if (id && typeof value === 'string' && value.length > 0) secrets.providerKeys.set(Number(id), value);
  }
  return secrets;
}

/**
 * The key for a provider's models: the stored one; else none, and LiteLLM reads its kind's usual variable
 * (OPENAI_API_KEY...) from its environment. A server of our own (OpenAI-compatible) gets a placeholder:
 * without one, LiteLLM's OpenAI client would send it the OpenAI key from .env.
 */
function apiKeyFor(provider: ConfigProvider, secrets: LiteLlmSecrets): string | undefined {
  const stored = secrets.providerKeys.get(provider.id);
  if (stored) return stored;
  // The .env key goes to its own provider's address only, never to one an admin typed.
  return provider.kind === 'openai_compatible' || provider.baseUrl ? 'no-key' : undefined;
}

/** The whole file for these providers, models and secrets (the master key must be known by now). */
export function renderLiteLlmConfig(providers: ConfigProvider[], models: ConfigModel[], secrets: LiteLlmSecrets & { masterKey: string }): string {
  const byId = new Map(providers.map((provider) => [provider.id, provider]));
  const modelList = models
    .filter((model) => model.enabled && byId.has(model.providerId))
    .map((model) => {
      const provider = byId.get(model.providerId)!;
      const info = PROVIDER_KIND_INFO[provider.kind];
      const apiKey = apiKeyFor(provider, secrets);
      const baseUrl = provider.baseUrl ?? info.defaultBaseUrl;
      return {
        model_name: model.name,
        litellm_params: {
          model: `${info.litellmPrefix}${model.upstreamModel}`,
          ...(apiKey ? { api_key: apiKey } : {}),
          ...(baseUrl ? { api_base: baseUrl } : {}),
          // An admin's prices win over LiteLLM's list (and price models the list does not know).
          ...(model.inputPricePerMTok !== null ? { input_cost_per_token: model.inputPricePerMTok / 1e6 } : {}),
          ...(model.outputPricePerMTok !== null ? { output_cost_per_token: model.outputPricePerMTok / 1e6 } : {}),
        },
      };
    });
  const environmentVariables = Object.fromEntries(
    [...secrets.providerKeys].filter(([id]) => byId.has(id)).map(([id, key]) => [providerKeyVariable(id), key]),
  );
  const document = {
    model_list: modelList,
    ...(Object.keys(environmentVariables).length > 0 ? { environment_variables: environmentVariables } : {}),
    litellm_settings: {
      telemetry: false,
      drop_params: true,
      // Retries are LiteLLM's job; the control plane's metering sees one call either way.
      num_retries: 2,
      request_timeout: 600,
    },
    general_settings: { master_key: secrets.masterKey },
  };
  // YAML 1.1, as LiteLLM's PyYAML reads it: a model called `on`, `yes` or `2024-05-13` stays a string.
  return `# Written by the CrewClaw control plane from its model catalog; edits here are overwritten.\n${stringify(document, { version: '1.1' })}`;
}
