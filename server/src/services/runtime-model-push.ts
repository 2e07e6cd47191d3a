/**
 * Tells running runtimes which models their users may use now (runtimes/model-list-push.ts): the runtime
 * keeps running and keeps its state. A stopped runtime gets the list when it next starts.
 */
import type { Logger } from '../logging/logger';
import type { RuntimeRepository } from '../repositories/runtime.repository';
import { pushModelList } from '../runtimes/model-list-push';
import type { OfferedModels } from '../runtimes/openclaw-config';
import type { RuntimeDriver } from '../runtimes/runtime-driver';

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

  private push(username: string, offered: OfferedModels): Promise<void> {
    return pushModelList(this.driver, username, offered, PUSH_TIMEOUT_MS);
  }

}
