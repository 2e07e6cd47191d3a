/**
 * The kinds of model provider an admin can set up, and how each becomes a LiteLLM model entry. LiteLLM
 * reads each kind's conventional environment variable by itself: that is how a key in `.env` reaches it
 * (compose passes those variables to LiteLLM, and to nothing that runs user code).
 */
export const PROVIDER_KINDS = ['openai', 'anthropic', 'openrouter', 'openai_compatible', 'gemini', 'mistral', 'groq', 'deepseek', 'ollama'] as const;

export type ProviderKind = (typeof PROVIDER_KINDS)[number];

export interface ProviderKindInfo {
  kind: ProviderKind;
  label: string;
  /** LiteLLM's provider prefix in `litellm_params.model`. */
  litellmPrefix: string;
  baseUrl: 'required' | 'optional' | 'none';
  defaultBaseUrl: string | null;
  /** The variable LiteLLM reads the key from when none is stored; null for kinds without one. */
  envVar: string | null;
  keyRequired: boolean;
  examples: string[];
}

export const PROVIDER_KIND_INFO: Record<ProviderKind, ProviderKindInfo> = {
  openai: { kind: 'openai', label: 'OpenAI', litellmPrefix: 'openai/', baseUrl: 'optional', defaultBaseUrl: null, envVar: 'OPENAI_API_KEY', keyRequired: true, examples: ['gpt-4.1', 'gpt-4.1-mini', 'gpt-4o-mini', 'o4-mini'] },
  anthropic: { kind: 'anthropic', label: 'Anthropic', litellmPrefix: 'anthropic/', baseUrl: 'optional', defaultBaseUrl: null, envVar: 'ANTHROPIC_API_KEY', keyRequired: true, examples: ['claude-sonnet-4-5', 'claude-haiku-4-5', 'claude-opus-4-1'] },
  openrouter: { kind: 'openrouter', label: 'OpenRouter', litellmPrefix: 'openrouter/', baseUrl: 'none', defaultBaseUrl: null, envVar: 'OPENROUTER_API_KEY', keyRequired: true, examples: ['openai/gpt-4o-mini', 'anthropic/claude-sonnet-4.5', 'deepseek/deepseek-chat'] },
  openai_compatible: { kind: 'openai_compatible', label: 'OpenAI-compatible (vLLM, LM Studio, any /v1)', litellmPrefix: 'openai/', baseUrl: 'required', defaultBaseUrl: null, envVar: null, keyRequired: false, examples: ['Qwen/Qwen2.5-7B-Instruct', 'meta-llama/Llama-3.1-8B-Instruct'] },
  ollama: { kind: 'ollama', label: 'Ollama', litellmPrefix: 'ollama_chat/', baseUrl: 'required', defaultBaseUrl: 'http://host.docker.internal:11434', envVar: null, keyRequired: false, examples: ['qwen2.5:7b', 'llama3.1:8b'] },
  gemini: { kind: 'gemini', label: 'Google Gemini', litellmPrefix: 'gemini/', baseUrl: 'none', defaultBaseUrl: null, envVar: 'GEMINI_API_KEY', keyRequired: true, examples: ['gemini-2.5-flash', 'gemini-2.5-pro'] },
  mistral: { kind: 'mistral', label: 'Mistral', litellmPrefix: 'mistral/', baseUrl: 'none', defaultBaseUrl: null, envVar: 'MISTRAL_API_KEY', keyRequired: true, examples: ['mistral-large-latest', 'mistral-small-latest'] },
  groq: { kind: 'groq', label: 'Groq', litellmPrefix: 'groq/', baseUrl: 'none', defaultBaseUrl: null, envVar: 'GROQ_API_KEY', keyRequired: true, examples: ['llama-3.3-70b-versatile'] },
  deepseek: { kind: 'deepseek', label: 'DeepSeek', litellmPrefix: 'deepseek/', baseUrl: 'none', defaultBaseUrl: null, envVar: 'DEEPSEEK_API_KEY', keyRequired: true, examples: ['deepseek-chat', 'deepseek-reasoner'] },
};

/** Every variable a provider key may come from in `.env` (compose hands these, and only these, to LiteLLM). */
export const PROVIDER_KEY_ENV_VARS = Object.values(PROVIDER_KIND_INFO)
  .map((info) => info.envVar)
  .filter((name): name is string => name !== null);
