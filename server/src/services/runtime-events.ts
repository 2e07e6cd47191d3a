/**
 * Progress of runtime lifecycle operations, per user, for the server-sent
 * events endpoint: each step with the time it happened and since the operation began.
 */
import { EventEmitter } from 'node:events';

export type RuntimeStep =
  | 'creating container'
  | 'starting'
  | 'waiting for health'
  | 'ready'
  | 'stopping'
  | 'stopped'
  | 'rolling back'
  | 'failed'
  /** It crashed behind the platform's back and its restart policy is bringing it back. */
  | 'crashed'
  /** Something happened to it that the user should know (a process killed for lack of memory). */
  | 'notice';

export interface RuntimeEvent {
  username: string;
  step: RuntimeStep;
  at: string;
  elapsedMs: number;
  message?: string;
}

export class RuntimeEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    // One listener per open events stream; many users may watch at once.
    this.emitter.setMaxListeners(0);
  }

  emit(event: RuntimeEvent): void {
    this.emitter.emit(event.username, event);
  }

  subscribe(username: string, listener: (event: RuntimeEvent) => void): () => void {
    this.emitter.on(username, listener);
    return () => this.emitter.off(username, listener);
  }
}
