/**
 * Keeps the platform in step with its proxy's container (Traefik, PROXY_CONTAINER):
 *
 * - A proxy container that was recreated or restarted has lost the user networks it was joined to,
 *   so every running runtime would be unreachable until its next start. Each time the proxy is seen
 *   with a new start, every running runtime's network is joined again (as the control plane does for
 *   itself when it starts).
 * - Only the proxy may tell the control plane who the client is (X-Forwarded-For, -Proto, -Host): the
 *   per-IP sign-in limit and the Secure cookie rest on it. Its addresses are known from Docker, so the
 *   trust follows the container wherever compose puts it, and nothing else on its networks is believed.
 *
 * Looked at every few seconds (one `docker inspect`): simpler and more robust than following the
 * events of a container the platform does not create.
 */
import type { RuntimeDriver } from '../runtimes/runtime-driver';

export interface ProxyPeerHooks {
  /** Joins the proxy (and the control plane) to every running runtime's network again. */
  reconnectRunning(): Promise<{ reconnected: string[]; unreachable: string[] }>;
  onRejoined?(result: { reconnected: string[]; unreachable: string[] }): void;
  onError?(error: unknown): void;
}

const CHECK_EVERY_MS = 3_000;

/** `::ffff:10.0.0.2` as Node reports an IPv4 client on a dual-stack socket, and `10.0.0.2` alike. */
function plainAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

export class ProxyPeer {
  private addresses = new Set<string>();
  private seenStart: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  /** What the last look found; null before the first. */
  private seen: 'running' | 'missing' | 'unknown' | null = null;

  constructor(
    private readonly driver: RuntimeDriver,
    private readonly container: string,
    private readonly hooks: ProxyPeerHooks,
  ) {}

  /** Whether a connection's peer address is the proxy's, for express's "trust proxy". */
  readonly isProxy = (address: string | undefined): boolean => address !== undefined && this.addresses.has(plainAddress(address));

  begin(): void {
    if (this.timer) return;
    void this.check();
    this.timer = setInterval(() => void this.check(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  end(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Whether the proxy's container runs, as the last look (every few seconds) found it: no Docker call of
   * its own, unless no look has finished yet. 'unknown': Docker did not answer.
   */
  async state(): Promise<'running' | 'missing' | 'unknown'> {
    if (this.seen === null) await this.check();
    return this.seen ?? 'unknown';
  }

  /** One look at the proxy; concurrent callers share it. Never throws (errors go to onError). */
  check(): Promise<void> {
    this.checking ??= this.look().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  private async look(): Promise<void> {
    try {
      let peer: Awaited<ReturnType<RuntimeDriver['peer']>>;
      try {
        peer = await this.driver.peer(this.container);
      } catch (error) {
        this.seen = 'unknown';
        throw error;
      }
      this.seen = peer ? 'running' : 'missing';
      if (!peer) {
        this.addresses = new Set();
        this.seenStart = null;
        return;
      }
      // Believed at once: a rejoin over many runtimes takes a while, and the clients' addresses matter meanwhile.
      this.addresses = new Set(peer.addresses);
      const start = `${peer.id}@${peer.startedAt}`;
      if (start !== this.seenStart) {
        const result = await this.hooks.reconnectRunning();
        this.hooks.onRejoined?.(result);
        this.seenStart = start;
      }
      // After joining, its .2 addresses on the user networks are the proxy's too.
      const again = await this.driver.peer(this.container);
      this.addresses = new Set((again ?? peer).addresses);
    } catch (error) {
      this.hooks.onError?.(error);
    }
  }
}
