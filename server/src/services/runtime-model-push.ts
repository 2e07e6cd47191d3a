/**
 * Tells running runtimes which models their users may use now: the models part of openclaw.json merged
 * into the file inside the container (the image's merge script, given the part on stdin), which the
 * OpenClaw gateway notices and reloads by itself; the runtime keeps running and keeps its state. A
 * stopped runtime gets the list when it next starts (it is part of the container's spec).
 */
import type { Logger } from '../logging/logger';
import type { RuntimeRepository } from '../repositories/runtime.repository';
import { openClawModelsPart, type OfferedModels } from '../runtimes/openclaw-config';
import type { RuntimeDriver } from '../runtimes/runtime-driver';

const MERGE_SCRIPT = '/usr/local/lib/crewclaw/merge-config.mjs';
const RUNTIME_UID = '1000';
/** Runtimes written to at once: a catalog change must not fork a hundred `docker exec`s. */
const AT_ONCE = 8;
const PUSH_TIMEOUT_MS = 20_000;

export class RuntimeModelPush {
  private running: Promise<void> | null = null;
  private again: (() => void) | null = null;

  constructor(
    private readonly driver: RuntimeDriver,
    private readonly runtimes: RuntimeRepository,
    private readonly logger: Logger,
  ) {}

  /**
   * Every running runtime gets its user's models, as the catalog stands when it is its turn. Changes
   * that come while a round runs are gathered into one more round, so an older list never lands last.
   * Failures are logged, never thrown: the runtime's next start gives it the list anyway.
   */
  pushAll(offeredTo: (userId: number) => OfferedModels): Promise<void> {
    if (this.running) {
      return new Promise((resolve) => {
        const previous = this.again;
        this.again = () => {
          previous?.();
          resolve();
        };
      });
    }
    this.running = (async () => {
      let round: (() => void) | null = null;
      try {
        do {
          round?.();
          round = this.again;
          this.again = null;
          await this.round(offeredTo);
        } while (this.again);
      } finally {
        round?.();
        // Whatever happened, the next change starts a round of its own.
        this.running = null;
      }
    })();
    return this.running;
  }

  private async round(offeredTo: (userId: number) => OfferedModels): Promise<void> {
    const queue = this.runtimes.listWithOwners().filter(({ runtime }) => runtime.state === 'running');
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        try {
          await this.push(next.username, offeredTo(next.runtime.userId));
        } catch (error) {
          this.logger.warn('could not give a running runtime its new model list; it gets it at its next start', { user: next.username, error });
        }
      }
    };
    await Promise.all(Array.from({ length: AT_ONCE }, worker));
  }

  async push(username: string, offered: OfferedModels): Promise<void> {
    const process = await this.driver.exec(username, ['node', MERGE_SCRIPT, '--stdin'], { user: RUNTIME_UID, stdin: true });
    process.stdout.resume();
    process.stdin?.end(JSON.stringify(openClawModelsPart(offered)));
    // A runtime that hangs (paused, its disk stuck) must not hold every later change back.
    const timer = setTimeout(() => process.abort(), PUSH_TIMEOUT_MS);
    const { code, stderr } = await process.exit.finally(() => clearTimeout(timer));
    if (code !== 0) throw new Error(`the merge script exited with ${code}: ${stderr.trim().slice(0, 500)}`);
  }
}
