/**
 * Signing a browser in to a user's runtime host (per-user subdomains, proxy/runtime-address.ts).
 *
 * The platform's session cookie is host-only: it never reaches `alice.crew.example.com`, which is the
 * point (nothing a runtime serves can ride on it). So the platform hands the browser over: on its own
 * origin, where the session is, it makes a one-time code for the signed-in user and sends the browser
 * to the runtime host with it; the runtime host's forward-auth check redeems the code, on that user's
 * host only, for a cookie of the host's own. Like an OAuth authorization code: short-lived, used once,
 * bound to one user, never a session itself. The cookie's token is kept hashed and belongs to the
 * platform session it came from, which it keeps alive and with which it ends.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { RuntimeHostSessionRepository, RuntimeHostVisitor } from '../repositories/runtime-host-session.repository';
import type { SessionRepository } from '../repositories/session.repository';

/** Long enough for two redirects on a slow link, short enough that a code in a history entry is dead. */
const CODE_TTL_MS = 60_000;
/** Bounds the memory of codes made and never redeemed (a page reloaded mid-way); past it, the oldest go. */
const MAX_PENDING_CODES = 10_000;
/** Codes one session may have pending: one session cannot push everyone else's out. */
const MAX_PENDING_PER_SESSION = 5;
/**
 * A runtime host that sends its visitor back to sign in this soon after a code was redeemed for the same
 * session did not keep the cookie (the browser refuses cookies): going round again would only loop.
 */
const COOKIE_REFUSED_WITHIN_MS = 10_000;
/** Don't rewrite the platform session on every runtime request just to push its expiry out by seconds. */
const SESSION_TOUCH_STEP_MS = 60_000;

interface PendingCode {
  userId: number;
  username: string;
  sessionId: string;
  expiresAt: number;
}

const hashOf = (secret: string) => createHash('sha256').update(secret).digest('hex');

export class RuntimeHandoff {
  private readonly pending = new Map<string, PendingCode>();
  /** Session id -> when a code made from it was last redeemed, for COOKIE_REFUSED_WITHIN_MS. */
  private readonly lastRedeemed = new Map<string, number>();

  constructor(
    private readonly hostSessions: RuntimeHostSessionRepository,
    private readonly sessions: SessionRepository,
    private readonly sessionTtlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A code for `user`'s own runtime host, made on the platform's origin from their session there. */
  issueCode(user: { id: number; username: string }, sessionId: string): string {
    this.forgetExpired(sessionId);
    const code = randomBytes(32).toString('base64url');
    this.pending.set(hashOf(code), { userId: user.id, username: user.username, sessionId, expiresAt: this.now() + CODE_TTL_MS });
    return code;
  }

  /**
   * The token for the runtime host's cookie, or null: a code is good once, within its minute, on the
   * host of the user it was made for (a code sent to another host is spent and refused).
   */
  redeem(code: string, hostOwner: string): string | null {
    const key = hashOf(code);
    const pending = this.pending.get(key);
    this.pending.delete(key);
    if (!pending || pending.expiresAt <= this.now() || pending.username !== hostOwner) return null;
    // The platform session may have ended in the meantime (signed out in another tab).
    if (this.sessions.find(pending.sessionId, new Date(this.now())) === undefined) return null;
    const token = randomBytes(32).toString('base64url');
    this.hostSessions.replace({ tokenHash: hashOf(token), sessionId: pending.sessionId, userId: pending.userId, createdAt: new Date(this.now()) });
    this.lastRedeemed.set(pending.sessionId, this.now());
    return token;
  }

  /**
   * Who a runtime host's cookie signs in, among the tokens the browser sent (a sibling host can set a
   * cookie for the whole domain, so there may be more than one): only one of the host's own user counts.
   */
  visitor(tokens: readonly string[], hostOwner: string): RuntimeHostVisitor | null {
    const now = this.now();
    for (const token of tokens) {
      const visitor = this.hostSessions.visitor(hashOf(token), this.sessionTtlMs, new Date(now));
      if (visitor?.username !== hostOwner) continue;
      // Using the Control UI is using the platform: the session it belongs to stays alive.
      this.sessions.touch(visitor.sessionId, new Date(now + this.sessionTtlMs), SESSION_TOUCH_STEP_MS);
      return visitor;
    }
    return null;
  }

  /** Whether a runtime host sent this session's browser back right after it was signed in there. */
  cookieRefused(sessionId: string): boolean {
    const at = this.lastRedeemed.get(sessionId);
    return at !== undefined && this.now() - at < COOKIE_REFUSED_WITHIN_MS;
  }

  private forgetExpired(sessionId: string): void {
    const now = this.now();
    const own: string[] = [];
    for (const [key, pending] of this.pending) {
      if (pending.expiresAt <= now) this.pending.delete(key);
      else if (pending.sessionId === sessionId) own.push(key);
    }
    // Oldest first (a Map keeps insertion order).
    for (const key of own.slice(0, Math.max(0, own.length - MAX_PENDING_PER_SESSION + 1))) this.pending.delete(key);
    while (this.pending.size >= MAX_PENDING_CODES) this.pending.delete(this.pending.keys().next().value as string);
    for (const [sid, at] of this.lastRedeemed) if (now - at >= COOKIE_REFUSED_WITHIN_MS) this.lastRedeemed.delete(sid);
  }
}
