/**
 * Merges the models part of openclaw.json into a running runtime's file (the image's merge script,
 * given the part on stdin); the OpenClaw gateway notices the change and reloads it, without a restart.
 */
import { openClawModelsPart, type OfferedModels } from './openclaw-config';
import type { RuntimeDriver } from './runtime-driver';

const MERGE_SCRIPT = '/usr/local/lib/crewclaw/merge-config.mjs';
const RUNTIME_UID = '1000';

export async function pushModelList(driver: RuntimeDriver, username: string, offered: OfferedModels, timeoutMs: number): Promise<void> {
  const process = await driver.exec(username, ['node', MERGE_SCRIPT, '--stdin'], { user: RUNTIME_UID, stdin: true });
  process.stdout.resume();
  process.stdin?.end(JSON.stringify(openClawModelsPart(offered)));
  // A runtime that hangs (paused, its disk stuck) must not hold anything back.
  const timer = setTimeout(() => process.abort(), timeoutMs);
  const { code, stderr } = await process.exit.finally(() => clearTimeout(timer));
  if (code !== 0) throw new Error(`the merge script exited with ${code}: ${stderr.trim().slice(0, 500)}`);
}
