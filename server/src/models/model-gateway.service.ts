/**
 * The model endpoint's work, between a runtime and LiteLLM: who calls (by their runtime's token), the
 * call passed on, streams passed through event by event, and every call metered.
 *
 * Usage is always known: a streamed call asks LiteLLM for `stream_options.include_usage`, and when the
 * client did not ask for it, the chunk that carries it is kept back (OpenAI's clients do not expect it).
 */
import { AppError, ClientGoneError, UnauthorizedError } from '../errors/app-error';
import type { Logger } from '../logging/logger';
import { NO_METRICS, type ModelCallObserver } from '../metrics/observers';
import type { ModelCallRepository, NewModelCall } from '../repositories/model-call.repository';
import type { RuntimeRepository } from '../repositories/runtime.repository';
import { runtimeTokenHash } from '../runtimes/runtime-token';
import type { LiteLlmClient, UpstreamAnswer } from './litellm-client';
import type { CallEstimate, ModelAdmission } from './model-admission';
import type { ModelLimits } from './model-limits';
import { SseSplitter } from './sse';

/** A model a caller may use, as the gateway needs it. */
export interface AllowedModel {
  name: string;
  contextWindow: number;
  maxTokens: number;
  inputPricePerMTok: number | null;
  outputPricePerMTok: number | null;
}

/** Which models a user may use (the model catalog). */
export interface ModelDirectory {
  allowedForUser(userId: number): { models: AllowedModel[]; default: AllowedModel | null; anyEnabled: boolean };
}

/** What the model id `default` stands for: each user's default model. */
const DEFAULT_ALIAS = 'default';

export interface ModelCaller {
  id: number;
  username: string;
}

export type ChatAnswer =
  /** A whole answer: OpenAI's JSON, as text. */
  | { kind: 'json'; status: number; body: string }
  /** Each item one or more whole server-sent events, terminators included, to write as it comes. */
  | { kind: 'stream'; status: number; events: AsyncGenerator<string, void, undefined> };

interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
}

interface Chunk {
  choices?: { delta?: { content?: unknown; [key: string]: unknown }; finish_reason?: unknown }[];
  usage?: Usage | null;
}

/** A model call refused or failed; the route writes it in OpenAI's error shape. */
export class ModelCallError extends AppError {}

function parseChunk(data: string | null): Chunk | null {
  if (!data || data === '[DONE]') return null;
  try {
    const parsed: unknown = JSON.parse(data);
    return typeof parsed === 'object' && parsed !== null ? (parsed) : null;
  } catch {
    return null;
  }
}

/** A usage-only chunk: nothing in it a client that did not ask for usage would miss. */
function carriesOnlyUsage(chunk: Chunk): boolean {
  return (chunk.choices ?? []).every((choice) => !choice.finish_reason && Object.values(choice.delta ?? {}).every((value) => value === undefined || value === null || value === ''));
}

/** A usage object, not `"usage": null` (some providers send that in every chunk). */
const CARRIES_USAGE = /"usage"\s*:\s*\{/;
/** A chunk with some text in it: one token, about, when a stream ends without its usage. */
const CARRIES_CONTENT = /"content"\s*:\s*"[^"]/;
const END_OF_EVENT = Buffer.from('\n\n');

const errorEvent = (message: string, code: string) => `data: ${JSON.stringify({ error: { message, type: 'api_error', param: null, code } })}\n\n`;

export class ModelGateway {
  constructor(
    private readonly runtimes: RuntimeRepository,
    private readonly calls: ModelCallRepository,
    private readonly litellm: LiteLlmClient,
    private readonly directory: ModelDirectory,
    private readonly admission: ModelAdmission,
    private readonly limitsFor: (userId: number) => ModelLimits,
    private readonly onActivity: (caller: ModelCaller) => void,
    private readonly logger: Logger,
    private readonly observer: ModelCallObserver = NO_METRICS,
  ) {}

  /** The caller a bearer token names: a runtime's model token (runtimes.token_hash). */
  authenticate(authorization: string | undefined): ModelCaller {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (!token) throw new UnauthorizedError('Missing API key: send your runtime token as a Bearer token.', 'missing_api_key');
    const owner = this.runtimes.ownerOfToken(runtimeTokenHash(token));
    if (!owner) throw new UnauthorizedError('This API key is not valid (a runtime token that was replaced, or none of ours).', 'invalid_api_key');
    return owner;
  }

  /** The caller's own models (OpenAI's list shape): `default` first, then each by name. */
  listModels(caller: ModelCaller): unknown {
    this.onActivity(caller);
    const allowed = this.directory.allowedForUser(caller.id);
    const entry = (id: string) => ({ id, object: 'model', created: 0, owned_by: 'crewclaw' });
    return { object: 'list', data: [...(allowed.default ? [entry(DEFAULT_ALIAS)] : []), ...allowed.models.map((model) => entry(model.name))] };
  }

  /** The model a call names, if its caller may use it; `default` is their default model. */
  private resolveModel(caller: ModelCaller, requested: string): AllowedModel {
    const allowed = this.directory.allowedForUser(caller.id);
    if (!allowed.anyEnabled) throw new ModelCallError(503, 'models_not_set_up', 'No language models are set up on this CrewClaw yet. Ask an admin to add one.');
    const model = requested === DEFAULT_ALIAS ? allowed.default : allowed.models.find((candidate) => candidate.name === requested);
    if (model) return model;
    const offered = allowed.models.map((candidate) => candidate.name).join(', ');
    throw new ModelCallError(
      404,
      'model_not_found',
      offered ? `The model "${requested}" is not available to you. Models you can use: ${offered}.` : 'No model is available to you yet. Ask an admin to give you one.',
    );
  }

  /**
   * The most a call may spend: every byte of its prompt (at least one per token) and all it may answer.
   * The prompt's bytes are the request body's when the endpoint knows them (a few more than the messages
   * and tools alone: a reservation errs high), else the messages and tools written out again: an agent's
   * prompt is tens of KiB, and serialising it once more on every call would cost more than the rest.
   * `prompt` is what it is metered at when the provider's count never comes (cut off, client gone): a
   * third of its bytes, about a token per word in English and per character in Chinese.
   */
  private estimate(request: Record<string, unknown>, model: AllowedModel, bodyBytes: number | null): CallEstimate & { prompt: number; completion: number } {
    const promptBytes = bodyBytes ?? Buffer.byteLength(JSON.stringify([request.messages, request.tools ?? null]));
    const completion = askedCompletion(request) ?? model.maxTokens;
    return { tokens: promptBytes + completion, costUsd: priced(model, { promptTokens: promptBytes, completionTokens: completion }) ?? 0, prompt: Math.ceil(promptBytes / 3), completion };
  }

  /** A one-token call to a model by its name, as an admin's check that it answers. */
  async check(modelName: string): Promise<{ ok: true; latencyMs: number } | { ok: false; message: string }> {
    const startedAt = Date.now();
    try {
      const response = await this.litellm.request('/v1/chat/completions', {
        method: 'POST',
        body: { model: modelName, max_tokens: 1, messages: [{ role: 'user', content: 'Say OK.' }] },
        signal: AbortSignal.timeout(60_000),
      });
      if (!response.ok) {
        const failure = await this.upstreamError(response);
        return { ok: false, message: `${failure.message} (${failure.detail ?? ''})`.slice(0, 1000) };
      }
      await response.discard();
      return { ok: true, latencyMs: Date.now() - startedAt };
    } catch (error) {
      return { ok: false, message: error instanceof Error ? error.message : String(error) };
    }
  }

  /** `bodyBytes`: the request body's size, when the endpoint knows it. */
  async chat(caller: ModelCaller, body: unknown, signal: AbortSignal, bodyBytes: number | null = null): Promise<ChatAnswer> {
    const request = this.validChat(body);
    const resolved = this.resolveModel(caller, request.model);
    const model = resolved.name;
    const stream = request.stream === true;
    const options = (request.stream_options ?? {}) as { include_usage?: unknown };
    const clientWantsUsage = options.include_usage === true;
    const estimate = this.estimate(request, resolved, bodyBytes);
    const upstreamBody = {
      ...forwardedFields(request),
      model,
      // Without a limit of its own, a call may answer as much as the model's most output tokens: what it reserved.
      ...(askedCompletion(request) === null ? { max_tokens: estimate.completion } : {}),
      ...(stream ? { stream_options: { ...options, include_usage: true } } : {}),
    };
    this.onActivity(caller);
    // Ended in meter(), after the spend is recorded, on every path: the route always reads a stream to its end.
    const ticket = await this.admission.admit(caller.id, this.limitsFor(caller.id), estimate, signal);
    const startedAt = new Date();
    const meter = (call: Omit<NewModelCall, 'userId' | 'username' | 'model' | 'stream' | 'startedAt' | 'latencyMs'>) => {
      // An admin's prices first; else LiteLLM's own figure (it knows most public models' prices).
      const costUsd = priced(resolved, { promptTokens: call.promptTokens ?? 0, completionTokens: call.completionTokens ?? 0 }) ?? call.costUsd ?? null;
      this.meter({ userId: caller.id, username: caller.username, model, stream, startedAt, latencyMs: Date.now() - startedAt.getTime(), ...call, costUsd });
      // After the spend is recorded: the next call of this user sees it.
      ticket.end();
    };

    let response: UpstreamAnswer;
    try {
      response = await this.litellm.request('/v1/chat/completions', { method: 'POST', body: upstreamBody, signal });
    } catch (error) {
      meter(signal.aborted ? { outcome: 'client_gone', httpStatus: 499, promptTokens: estimate.prompt } : { outcome: 'error', httpStatus: error instanceof AppError ? error.status : 503 });
      throw error;
    }
    if (!response.ok) {
      const failure = await this.upstreamError(response);
      meter({ outcome: 'error', httpStatus: failure.status });
      throw failure;
    }
    if (!stream) {
      let text: string;
      let answer: { usage?: Usage };
      try {
        text = await response.text();
        answer = JSON.parse(text) as { usage?: Usage };
      } catch (error) {
        if (signal.aborted) {
          // The provider was asked and bills the prompt at least.
          meter({ outcome: 'client_gone', httpStatus: response.status, promptTokens: estimate.prompt });
          throw new ClientGoneError();
        }
        meter({ outcome: 'error', httpStatus: 502 });
        throw new ModelCallError(502, 'upstream_error', 'The model provider sent an answer that could not be read. Try again.', { detail: `LiteLLM's answer: ${String(error)}` });
      }
      const cost = costOf(response.header('x-litellm-response-cost'));
      // Recorded once the answer is on its way: the route writes it in this same turn of the event loop,
      // so the insert is off the caller's path. The call's reservation holds until then, so budgets hold.
      setImmediate(() => meter({ outcome: 'ok', httpStatus: response.status, ...tokensOf(answer.usage), costUsd: cost }));
      // LiteLLM's bytes as they came: parsed for the usage only, not written anew.
      return { kind: 'json', status: response.status, body: text };
    }
    return { kind: 'stream', status: response.status, events: this.passStream(response, clientWantsUsage, estimate.prompt, signal, meter, () => this.onActivity(caller)) };
  }

  private async *passStream(
    response: UpstreamAnswer,
    clientWantsUsage: boolean,
    promptEstimate: number,
    signal: AbortSignal,
    meter: (call: Omit<NewModelCall, 'userId' | 'username' | 'model' | 'stream' | 'startedAt' | 'latencyMs'>) => void,
    onEnd: () => void,
  ): AsyncGenerator<string, void, undefined> {
    const splitter = new SseSplitter();
    let usage: Usage | undefined;
    let finished = false;
    let contentChunks = 0;
    let outcome: 'ok' | 'cut_off' | 'client_gone' = 'ok';
    // False while the consumer may still leave before the end (it stops iterating: the client went away).
    let delivered = false;
    try {
      const body = response.chunks();
      // After the body, a blank line: a last event the upstream did not terminate still counts.
      for await (const bytes of (async function* () {
        yield* body;
        yield END_OF_EVENT;
      })()) {
        // The events of one read from LiteLLM go on in one write: as soon as they came, in fewer writes.
        let out = '';
        for (const event of splitter.push(bytes)) {
          const data = event.data;
          if (data === '[DONE]') finished = true;
          else if (data !== null && CARRIES_CONTENT.test(data)) contentChunks += 1;
          // Only the chunk with the usage is parsed: the rest pass on as they came.
          const chunk = data !== null && CARRIES_USAGE.test(data) ? parseChunk(data) : null;
          if (chunk?.usage) {
            usage = chunk.usage;
            if (!clientWantsUsage) {
              if (carriesOnlyUsage(chunk)) continue;
              delete chunk.usage;
              out += `data: ${JSON.stringify(chunk)}\n\n`;
              continue;
            }
          }
          out += `${event.raw}\n\n`;
        }
        if (out !== '') yield out;
      }
      if (!finished) {
        outcome = 'cut_off';
        delivered = true;
        yield errorEvent('The model provider stopped answering mid-way. Try again.', 'upstream_cut_off');
      }
      delivered = true;
    } catch (error) {
      if (signal.aborted) return;
      outcome = 'cut_off';
      this.logger.warn('a model stream broke off', { error });
      delivered = true;
      yield errorEvent('The model provider stopped answering mid-way. Try again.', 'upstream_cut_off');
    } finally {
      // Without a usage chunk (cut off, or the client left), the provider still billed the prompt: its
      // estimate, and each content chunk counted as one token.
      const tokens = usage ? tokensOf(usage) : { promptTokens: promptEstimate, completionTokens: contentChunks, cachedTokens: 0 };
      meter({ outcome: signal.aborted || !delivered ? 'client_gone' : outcome, httpStatus: response.status, ...tokens, costUsd: null });
      // A long answer is use until its end, not only at its start.
      onEnd();
    }
  }

  private validChat(body: unknown): Record<string, unknown> & { model: string } {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ModelCallError(400, 'invalid_body', 'The request body must be a JSON object.');
    }
    const request = body as Record<string, unknown>;
    if (typeof request.model !== 'string' || request.model === '') throw new ModelCallError(400, 'missing_model', 'Say which model to use: "model" must be a model name.');
    if (!Array.isArray(request.messages) || request.messages.length === 0) throw new ModelCallError(400, 'invalid_messages', '"messages" must be a non-empty array.');
    if (request.stream !== undefined && typeof request.stream !== 'boolean') throw new ModelCallError(400, 'invalid_stream', '"stream" must be true or false.');
    if (request.n !== undefined && request.n !== null && request.n !== 1) throw new ModelCallError(400, 'unsupported_n', 'Only one answer per request: "n" must be 1.');
    for (const field of ['max_tokens', 'max_completion_tokens'] as const) {
      const value = request[field];
      if (value !== undefined && value !== null && !(typeof value === 'number' && Number.isInteger(value) && value > 0)) {
        throw new ModelCallError(400, 'invalid_max_tokens', `"${field}" must be a whole number above 0.`);
      }
    }
    return request as Record<string, unknown> & { model: string };
  }

  /** LiteLLM's refusal or failure, in words a user can act on; the provider's own text goes to the log. */
  private async upstreamError(response: UpstreamAnswer): Promise<ModelCallError> {
    const text = await response.text().catch(() => '');
    let message: string;
    try {
      const said = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
      message = typeof said === 'string' ? said : '';
    } catch {
      message = '';
    }
    const detail = `LiteLLM answered ${response.status}: ${text.slice(0, 500)}`;
    if (response.status === 400 && /model/i.test(message) && /(not|invalid|unknown)/i.test(message)) {
      return new ModelCallError(404, 'model_not_found', 'That model is not offered here. Pick one of the models in the list.', { detail });
    }
    // Our key refused upstream (LiteLLM's master key, or the provider's key it holds): nothing the user can fix.
    if (response.status === 401 || response.status === 403) {
      return new ModelCallError(502, 'upstream_auth_failed', 'The model service is not set up correctly (the provider refused its key). Tell an admin.', { detail });
    }
    if (response.status === 429) return new ModelCallError(429, 'rate_limit_exceeded', 'The model provider is busy (rate limited). Try again in a minute.', { detail, headers: { 'Retry-After': response.header('retry-after') ?? '30' } });
    if (response.status >= 400 && response.status < 500) return new ModelCallError(400, 'upstream_refused', `The model provider refused the request: ${message || 'no reason given'}.`, { detail });
    return new ModelCallError(502, 'upstream_error', 'The model provider failed to answer. Try again in a minute; if it keeps failing, tell an admin.', { detail });
  }

  /** Never throws: it runs in a stream's `finally` and after an answer went out, where a throw would end the process or keep the call's reservation. */
  private meter(call: NewModelCall): void {
    try {
      this.calls.insert(call);
    } catch (error) {
      this.logger.error('could not record a model call', { error, user: call.username, model: call.model });
    }
    try {
      this.observer.modelCall(call);
    } catch (error) {
      this.logger.error('could not count a model call in the metrics', { error, model: call.model });
    }
  }
}

/**
 * OpenAI's chat parameters, the only ones passed on. The rest is LiteLLM's own (fallbacks, retries,
 * mock responses, metadata...), which the master key would honour: a `fallbacks` list could reach a model
 * the caller may not use, metered as the one they named.
 */
const FORWARDED_FIELDS = new Set([
  'messages', 'stream', 'stream_options', 'temperature', 'top_p', 'max_tokens', 'max_completion_tokens', 'stop', 'presence_penalty',
  'frequency_penalty', 'logit_bias', 'logprobs', 'top_logprobs', 'user', 'tools', 'tool_choice', 'parallel_tool_calls', 'functions',
  'function_call', 'response_format', 'seed', 'reasoning_effort', 'modalities', 'prediction', 'thinking', 'n',
]);

function forwardedFields(request: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(request).filter(([key]) => FORWARDED_FIELDS.has(key)));
}

/** The most a call asked to answer: the larger of its two limits (providers differ in which they honour). */
function askedCompletion(request: Record<string, unknown>): number | null {
  const asked = [request.max_tokens, request.max_completion_tokens].filter((value): value is number => typeof value === 'number');
  return asked.length > 0 ? Math.max(...asked) : null;
}

/** A call's price by the model's prices an admin set; null when they set none. */
function priced(model: AllowedModel, tokens: { promptTokens: number; completionTokens: number }): number | null {
  if (model.inputPricePerMTok === null && model.outputPricePerMTok === null) return null;
  return (tokens.promptTokens * (model.inputPricePerMTok ?? 0) + tokens.completionTokens * (model.outputPricePerMTok ?? 0)) / 1e6;
}

/** LiteLLM's price of a call (its x-litellm-response-cost header), when it sent a number. */
function costOf(header: string | null): number | null {
  if (header === null || header.trim() === '') return null;
  const cost = Number(header);
  return Number.isFinite(cost) && cost >= 0 ? cost : null;
}

/** A provider's count, if it is one: a whole number of at least 0 (else 0: what it sent is not usable). */
const count = (value: unknown) => (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : 0);

function tokensOf(usage: Usage | undefined): { promptTokens: number; completionTokens: number; cachedTokens: number } {
  return {
    promptTokens: count(usage?.prompt_tokens),
    completionTokens: count(usage?.completion_tokens),
    cachedTokens: count(usage?.prompt_tokens_details?.cached_tokens),
  };
}
