/**
 * Sessions that stopped counting, told to whatever holds one open past its request (the runtime
 * events stream): one session ended (sign-out, or replaced at sign-in), or every session of a user
 * (disabled, deleted, password changed). In this process only: sessions the admin CLI ends, or
 * that expire, are noticed by the holder looking at the session store now and then.
 */
import { EventEmitter } from 'node:events';

export type SessionEnd = { sessionId: string } | { userId: number; exceptSessionId?: string };

export class SessionEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    // One listener per open stream; many may be open at once.
    this.emitter.setMaxListeners(0);
  }

  ended(end: SessionEnd): void {
    if ('sessionId' in end) this.emitter.emit(`session:${end.sessionId}`);
    else this.emitter.emit(`user:${end.userId}`, end.exceptSessionId);
  }

  /** Calls `onEnd` once, when the session `sessionId` of user `userId` ends; returns the unsubscribe. */
  onEnd(session: { userId: number; sessionId: string }, onEnd: () => void): () => void {
    const bySession = `session:${session.sessionId}`;
    const byUser = `user:${session.userId}`;
    const unsubscribe = (): void => {
      this.emitter.off(bySession, endSession);
      this.emitter.off(byUser, endUser);
    };
    const endSession = (): void => {
      unsubscribe();
      onEnd();
    };
    const endUser = (exceptSessionId?: string): void => {
      if (exceptSessionId !== session.sessionId) endSession();
    };
    this.emitter.on(bySession, endSession);
    this.emitter.on(byUser, endUser);
    return unsubscribe;
  }
}
