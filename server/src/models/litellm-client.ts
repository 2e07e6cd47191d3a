/**
 * The one module that talks to the LiteLLM sidecar. Only the control plane can reach it (its network is
 * shared with nothing else), and only with the master key, which never leaves this process.
 *
 * It speaks HTTP through undici's `request()` on a keep-alive pool, not the global `fetch`: every model
 * call passes here, and fetch's WHATWG Request/Response, Headers and web streams were the largest part of
 * what the model endpoint added to a call (docs/benchmarks.md, issue #10). A body arrives as Node buffers.
 */
import { Pool } from 'undici';
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

/** LiteLLM's answer, its body not read yet: read it once, as text, or as bytes as they come, or drop it. */
export interface UpstreamAnswer {
  status: number;
  ok: boolean;
  header(name: string): string | null;
  text(): Promise<string>;
  /** The body's bytes as they arrive; throws if the connection breaks (or the call is aborted) mid-way. */
  chunks(): AsyncIterable<Buffer>;
  /** Drops the body unread. */
  discard(): Promise<void>;
}

/**
 * As long as LiteLLM's own timeout for a call (600 s): a long answer from a slow model must not be cut
 * by us first. Undici's defaults (300 s to the headers, 300 s between body chunks) would.
 */
const CALL_TIMEOUT_MS = 600_000;

export class LiteLlmClient {
  private readonly pool: Pool;

  constructor(private readonly settings: LiteLlmSettings) {
    // An idle connection is dropped before LiteLLM's server (uvicorn: 5 s) drops it, or a call sent on it
    // just as the server closes it would fail (a POST is not retried).
    this.pool = new Pool(new URL(settings.url).origin, { headersTimeout: CALL_TIMEOUT_MS, bodyTimeout: CALL_TIMEOUT_MS, keepAliveTimeout: 4_000 });
  }

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
    if (!response.ok) {
      await response.discard();
      throw new ModelGatewayUnavailableError(`LiteLLM's /model/info answered ${response.status}`);
    }
    const body = JSON.parse(await response.text()) as { data?: { model_name?: unknown; model_info?: { input_cost_per_token?: unknown; output_cost_per_token?: unknown } | null }[] };
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
      const response = await this.send('/health/liveliness', { method: 'GET', signal: AbortSignal.timeout(2000) }, {});
      await response.discard();
      return response.ok;
    } catch {
      return false;
    }
  }

  /** A request to LiteLLM's OpenAI-compatible API; the answer as it comes (its body not read yet). */
  async request(path: string, init: { method: 'GET' | 'POST'; body?: unknown; signal?: AbortSignal }): Promise<UpstreamAnswer> {
    if (!this.settings.masterKey) throw new AppError(503, 'models_not_set_up', 'No language models are set up on this CrewClaw yet. Ask an admin to add a model provider.');
    const headers: Record<string, string> = { authorization: `Bearer ${this.settings.masterKey}` };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    return this.send(path, init, headers);
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private async send(path: string, init: { method: 'GET' | 'POST'; body?: unknown; signal?: AbortSignal }, headers: Record<string, string>): Promise<UpstreamAnswer> {
    try {
      const response = await this.pool.request({
        path,
        method: init.method,
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: init.signal,
      });
      return answerOf(response);
    } catch (error) {
      if (init.signal?.aborted && !(init.signal.reason instanceof DOMException && init.signal.reason.name === 'TimeoutError')) throw new ClientGoneError();
      throw new ModelGatewayUnavailableError(`LiteLLM at ${this.settings.url} did not answer: ${describe(error)}`, error);
    }
  }
}

function answerOf(response: Awaited<ReturnType<Pool['request']>>): UpstreamAnswer {
  return {
    status: response.statusCode,
    ok: response.statusCode >= 200 && response.statusCode < 300,
    header(name) {
      const value = response.headers[name.toLowerCase()];
      return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
    },
    text: () => response.body.text(),
    chunks: () => response.body,
    discard: () => response.body.dump(),
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
