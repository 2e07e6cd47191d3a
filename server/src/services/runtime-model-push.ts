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

export class RuntimeModelPush {
  constructor(
    private readonly driver: RuntimeDriver,
    private readonly runtimes: RuntimeRepository,
    private readonly logger: Logger,
  ) {}

  /** Every running runtime gets its user's models; failures are logged, never thrown (the next start fixes them). */
  async pushAll(offeredTo: (userId: number) => OfferedModels): Promise<{ updated: string[]; failed: string[] }> {
    const running = this.runtimes.listWithOwners().filter(({ runtime }) => runtime.state === 'running');
    const results = await Promise.all(
      running.map(async ({ runtime, username }) => {
        try {
          await this.push(username, offeredTo(runtime.userId));
          return { username, ok: true };
        } catch (error) {
          this.logger.warn('could not give a running runtime its new model list; it gets it at its next start', { user: username, error });
          return { username, ok: false };
        }
      }),
    );
    return { updated: results.filter((result) => result.ok).map((result) => result.username), failed: results.filter((result) => !result.ok).map((result) => result.username) };
  }

  async push(username: string, offered: OfferedModels): Promise<void> {
    const process = await this.driver.exec(username, ['node', MERGE_SCRIPT, '--stdin'], { user: RUNTIME_UID, stdin: true });
    process.stdout.resume();
    process.stdin?.end(JSON.stringify(openClawModelsPart(offered)));
    const { code, stderr } = await process.exit;
    if (code !== 0) throw new Error(`the merge script exited with ${code}: ${stderr.trim().slice(0, 500)}`);
  }
}
