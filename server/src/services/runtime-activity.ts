/**
 * When a runtime was last used, and what must keep it from the idle stop: every proxied request,
 * model call and file call counts as use; a transfer in progress holds the idle stop off until it
 * ends, however long it runs.
 */
import type { RuntimeRepository } from '../repositories/runtime.repository';

export interface ActivityOwner {
  id: number;
  username: string;
}

const ACTIVITY_WRITE_INTERVAL_MS = 60_000;

export class RuntimeActivity {
  private readonly noted = new Map<number, number>();
  /** Work in progress inside a runtime (a file transfer), by user id. */
  private readonly held = new Map<number, number>();
  /**
   * When each runtime's Control UI was last seen open, by user id. Kept apart from the last activity
   * (in memory: after a restart of the control plane the next sweep sees it again), so that the limit
   * on how long an open tab alone keeps a runtime up counts from the last real use.
   */
  private readonly openUiSeen = new Map<number, number>();

  constructor(private readonly runtimes: RuntimeRepository) {}

  record(owner: ActivityOwner, now = new Date()): void {
    // Every proxied request and model call lands here: write at most once a minute per user.
    const last = this.noted.get(owner.id) ?? 0;
    if (now.getTime() - last < ACTIVITY_WRITE_INTERVAL_MS) return;
    this.noted.set(owner.id, now.getTime());
    if (this.runtimes.find(owner.id)) this.runtimes.update(owner.id, { lastActivityAt: now });
  }

  /** Holds the idle stop off until the returned function is called (more than once is harmless). */
  hold(owner: ActivityOwner): () => void {
    this.held.set(owner.id, (this.held.get(owner.id) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(owner.id) ?? 1) - 1;
      if (left > 0) this.held.set(owner.id, left);
      else this.held.delete(owner.id);
    };
  }

  noteOpenControlUi(owner: ActivityOwner, now: Date): void {
    this.openUiSeen.set(owner.id, now.getTime());
  }

  /**
   * Running runtimes unused for `idleMinutes`, not held by work in progress, and whose Control UI was
   * not seen open within that time either (so a closed page gives the same grace as a last click).
   */
  idleSince(idleMinutes: number, now: Date): ActivityOwner[] {
    const cutoff = now.getTime() - idleMinutes * 60_000;
    return this.runtimes
      .listIdle(new Date(cutoff))
      .filter((owner) => !this.held.has(owner.id) && (this.openUiSeen.get(owner.id) ?? 0) < cutoff);
  }
}
