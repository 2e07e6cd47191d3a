/**
 * What the platform's parts tell the metrics (platform-metrics.ts), as small interfaces the parts are
 * given: services and the model gateway never see prom-client or a registry, and a part built without
 * metrics (unit tests, the admin CLI) gets NO_METRICS. Every label value is from a closed list or from
 * the admins' own catalog (model names), so no series is made per user or per request.
 */

/** Why a runtime start failed; a closed list, so the counter's label stays bounded. */
export const START_FAILURE_CAUSES = ['docker_unavailable', 'out_of_memory', 'crashed', 'health_timeout', 'container_gone', 'upgrade_rolled_back', 'other'] as const;
export type StartFailureCause = (typeof START_FAILURE_CAUSES)[number];

export interface RuntimeObserver {
  /** A start that ended with a running runtime (a rolled-back upgrade included), `seconds` after it began. */
  runtimeStarted(seconds: number): void;
  runtimeStartFailed(cause: StartFailureCause): void;
  /** A stop the platform made: a user's or an admin's, or the idle stop. */
  runtimeStopped(seconds: number, reason: 'user' | 'idle'): void;
}

export type SignInFailure = 'unknown_user' | 'wrong_password' | 'disabled';

export interface SignInObserver {
  signInFailed(reason: SignInFailure): void;
}

export interface FileTransferObserver {
  /** Bytes of workspace files received from clients ('in': uploads, edits) or sent to them ('out': downloads, zips). */
  fileBytes(direction: 'in' | 'out', bytes: number): void;
}

export interface ModelCallObserver {
  /** One metered model call; `model` is a catalog name, `outcome` the model_calls outcome. */
  modelCall(call: { model: string; outcome: string; promptTokens?: number | null; completionTokens?: number | null; cachedTokens?: number | null }): void;
}

export interface HttpObserver {
  /** One answered request; `route` is a route pattern or a fixed name, never a raw URL. */
  httpRequest(request: { method: string; route: string; status: number; seconds: number }): void;
}

export type PlatformObserver = RuntimeObserver & SignInObserver & FileTransferObserver & ModelCallObserver & HttpObserver;

const nothing = () => undefined;

/** Observes nothing: for parts built without metrics. */
export const NO_METRICS: PlatformObserver = {
  runtimeStarted: nothing,
  runtimeStartFailed: nothing,
  runtimeStopped: nothing,
  signInFailed: nothing,
  fileBytes: nothing,
  modelCall: nothing,
  httpRequest: nothing,
};
