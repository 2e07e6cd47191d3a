/**
 * The one stand-in the tests may use: an upstream model provider of our own, OpenAI-compatible, that
 * answers and streams the way the real ones do (server-sent events, a usage chunk with `choices: []`
 * when asked for `stream_options.include_usage`, `data: [DONE]`), and misbehaves on request by model
 * name: `slow` (200 ms between chunks), `cut` (the connection dropped mid-answer), `error` (a 500 in
 * OpenAI's error shape), `busy` (a 429), `unknown` (LiteLLM's 400 for a model it does not have). Like
 * LiteLLM, it prices a non-streamed answer in `x-litellm-response-cost`. It listens on `host` (for a container such as LiteLLM: Docker's bridge gateway,
 * which containers reach as host.docker.internal), and records what it was sent.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInRequest {
  path: string;
  authorization: string | undefined;
  body: { model?: string; stream?: boolean; stream_options?: { include_usage?: boolean }; messages?: unknown[] };
}

export interface OpenAiStandIn {
  port: number;
  requests: StandInRequest[];
  close(): Promise<void>;
}

export const STAND_IN_WORDS = ['Hello', ' from', ' the', ' stand-in', '.'];
export const STAND_IN_COST_USD = 0.000123;
/** What the stand-in, playing LiteLLM, says `stand-in-priced` costs per token. */
export const STAND_IN_PRICE = { input: 1e-6, output: 2e-6 };
export const STAND_IN_USAGE = { prompt_tokens: 11, completion_tokens: STAND_IN_WORDS.length, total_tokens: 11 + STAND_IN_WORDS.length };

const chunk = (model: string, choices: unknown[], extra: Record<string, unknown> = {}) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-standin', object: 'chat.completion.chunk', created: 1_800_000_000, model, choices, ...extra })}\n\n`;

function answer(request: StandInRequest['body'], res: http.ServerResponse): void {
  const model = request.model ?? 'stand-in';
  if (model.includes('unknown')) {
    res.writeHead(400, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: { message: `Invalid model name passed in model=${model}. Call \`/v1/models\` to view available models for your key.`, type: 'invalid_request_error', code: '400' } }));
    return;
  }
  if (model.includes('busy')) {
    res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': '7' });
    res.end(JSON.stringify({ error: { message: 'Rate limit reached.', type: 'rate_limit_error', code: '429' } }));
    return;
  }
  if (model.includes('error')) {
    res.writeHead(500, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'The stand-in upstream failed on purpose.', type: 'server_error', code: 'stand_in_failure' } }));
    return;
  }
  if (!request.stream) {
    // A slow model takes a moment for a whole answer too, so that calls overlap.
    if (model.includes('slow') && !res.headersSent && !(res as { delayed?: boolean }).delayed) {
      (res as { delayed?: boolean }).delayed = true;
      return void setTimeout(() => answer(request, res), 300);
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'x-litellm-response-cost': String(STAND_IN_COST_USD) });
    res.end(
      JSON.stringify({
        id: 'chatcmpl-standin',
        object: 'chat.completion',
        created: 1_800_000_000,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: STAND_IN_WORDS.join('') }, finish_reason: 'stop' }],
        usage: STAND_IN_USAGE,
      }),
    );
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  // `crawl`: a second between chunks, for tests that break something mid-answer.
  const gapMs = model.includes('crawl') ? 1000 : model.includes('slow') ? 200 : 5;
  let sent = 0;
  const next = () => {
    if (res.destroyed) return;
    if (sent < STAND_IN_WORDS.length) {
      res.write(chunk(model, [{ index: 0, delta: sent === 0 ? { role: 'assistant', content: STAND_IN_WORDS[sent] } : { content: STAND_IN_WORDS[sent] }, finish_reason: null }]));
      sent += 1;
      // Cut off after two words: no finish_reason, no usage, no [DONE].
      if (model.includes('cut') && sent === 2) return void setTimeout(() => res.socket?.destroy(), gapMs);
      return void setTimeout(next, gapMs);
    }
    res.write(chunk(model, [{ index: 0, delta: {}, finish_reason: 'stop' }]));
    if (request.stream_options?.include_usage) res.write(chunk(model, [], { usage: STAND_IN_USAGE }));
    res.end('data: [DONE]\n\n');
  };
  next();
}

export async function startOpenAiStandIn(host = '127.0.0.1'): Promise<OpenAiStandIn> {
  const requests: StandInRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (part: Buffer) => chunks.push(part));
    req.on('end', () => {
      let body: StandInRequest['body'];
      try {
        body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as StandInRequest['body']) : {};
      } catch {
        res.writeHead(400, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: { message: 'malformed JSON', type: 'invalid_request_error' } }));
        return;
      }
      requests.push({ path: req.url ?? '', authorization: req.headers.authorization, body });
      // LiteLLM's liveness probe, which the control plane asks to tell whether its gateway is up.
      if (req.method === 'GET' && req.url === '/health/liveliness') return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('"I\'m alive!"');
      // LiteLLM's model info: a price for `stand-in-priced` only (LiteLLM knows public models' prices).
      if (req.method === 'GET' && req.url === '/model/info') {
        return void res
          .writeHead(200, { 'Content-Type': 'application/json' })
          .end(JSON.stringify({ data: [{ model_name: 'stand-in-priced', model_info: { input_cost_per_token: STAND_IN_PRICE.input, output_cost_per_token: STAND_IN_PRICE.output } }] }));
      }
      if (req.method === 'GET' && req.url?.endsWith('/models')) {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: 'stand-in', object: 'model', owned_by: 'crewclaw-tests' }] }));
        return;
      }
      if (req.method === 'POST' && req.url?.endsWith('/chat/completions')) return answer(body, res);
      res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${req.url}`, type: 'invalid_request_error' } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
