/**
 * The one module that talks to the LiteLLM sidecar. Only the control plane can reach it (its network is
 * shared with nothing else), and only with the master key, which never leaves this process.
 */
import { AppError, ClientGoneError } from '../errors/app-error';

export interface LiteLlmSettings {
  url: string;
  masterKey: string | undefined;
}

export class ModelGatewayUnavailableError extends AppError {
  constructor(detail: string, cause?: unknown) {
    super(503, 'model_gateway_unavailable', 'The model service is not reachable right now. Try again in a minute; if it keeps failing, tell an admin.', {
      detail,
      cause,
      headers: { 'Retry-After': '30' },
    });
  }
}

export class LiteLlmClient {
  constructor(private readonly settings: LiteLlmSettings) {}

  get configured(): boolean {
    return Boolean(this.settings.masterKey);
  }

  /** The key LiteLLM was configured with (the sidecar settles it at start). */
  useMasterKey(masterKey: string): void {
    this.settings.masterKey = masterKey;
  }

  /**
   * The price per token of each model LiteLLM serves, where it knows one (its price list, or the prices
   * an admin set, which the configuration passes on); models without a price are left out.
   */
  async modelPrices(): Promise<Map<string, { input: number; output: number }>> {
    const response = await this.request('/model/info', { method: 'GET', signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new ModelGatewayUnavailableError(`LiteLLM's /model/info answered ${response.status}`);
    const body = (await response.json()) as { data?: { model_name?: unknown; model_info?: { input_cost_per_token?: unknown; output_cost_per_token?: unknown } | null }[] };
    const prices = new Map<string, { input: number; output: number }>();
    for (const entry of body.data ?? []) {
      const input = entry.model_info?.input_cost_per_token;
      const output = entry.model_info?.output_cost_per_token;
      if (typeof entry.model_name === 'string' && typeof input === 'number' && typeof output === 'number' && input >= 0 && output >= 0) {
        prices.set(entry.model_name, { input, output });
      }
    }
    return prices;
  }

  /** Whether LiteLLM answers at all (its liveness endpoint needs no key). */
  async alive(): Promise<boolean> {
    try {
      const response = await fetch(`${this.settings.url}/health/liveliness`, { signal: AbortSignal.timeout(2000) });
      await response.body?.cancel();
      return response.ok;
    } catch {
      return false;
    }
  }

  /** A request to LiteLLM's OpenAI-compatible API; the answer as it comes (its body not read yet). */
  async request(path: string, init: { method: 'GET' | 'POST'; body?: unknown; signal?: AbortSignal }): Promise<Response> {
    if (!this.settings.masterKey) throw new AppError(503, 'models_not_set_up', 'No language models are set up on this CrewClaw yet. Ask an admin to add a model provider.');
    try {
      return await fetch(`${this.settings.url}${path}`, {
        method: init.method,
        headers: { Authorization: `Bearer ${this.settings.masterKey}`, ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: init.signal,
      });
    } catch (error) {
      if (init.signal?.aborted) throw new ClientGoneError();
      throw new ModelGatewayUnavailableError(`LiteLLM at ${this.settings.url} did not answer: ${error instanceof Error ? error.message : String(error)}`, error);
    }
  }
}
