/**
 * How a runtime ended without the platform asking, in a form both people and the web UI can use:
 * the cause as a code the UI translates, the numbers behind it, and an English sentence for API
 * clients and the audit log.
 */

export type ExitCause = 'out_of_memory' | 'killed' | 'signal' | 'exit_code' | 'removed';

/**
 * What the platform did about it:
 *  - 'restarted'  Docker's restart policy brought it back (a crash)
 *  - 'stopped'    it stays down (killed or stopped from outside); the next visit or start brings it back
 *  - 'halted'     it kept crashing, so the platform stopped it rather than let it loop
 *  - 'removed'    its container was removed; the next visit or start makes a new one (files are kept)
 *  - 'survived'   one of its processes was killed for lack of memory, the gateway itself kept running
 */
export type ExitOutcome = 'restarted' | 'stopped' | 'halted' | 'removed' | 'survived';

export interface RuntimeExit {
  at: string;
  cause: ExitCause;
  outcome: ExitOutcome;
  exitCode: number | null;
  /** The signal's name when the process was ended by one (exit code 128 + n). */
  signal: string | null;
  /** The memory limit at the time, for out-of-memory exits. */
  memoryMb: number | null;
  /** Crashes within the crash window, this one included. */
  crashes: number;
}

const SIGNALS: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 13: 'SIGPIPE', 15: 'SIGTERM' };

export function describeExit(input: { exitCode: number | null; oomKilled: boolean; removed?: boolean }): Pick<RuntimeExit, 'cause' | 'exitCode' | 'signal'> {
  const { exitCode } = input;
  const signalNumber = exitCode !== null && exitCode > 128 && exitCode < 160 ? exitCode - 128 : null;
  const signal = signalNumber === null ? null : (SIGNALS[signalNumber] ?? `signal ${signalNumber}`);
  if (input.removed) return { cause: 'removed', exitCode, signal };
  if (input.oomKilled) return { cause: 'out_of_memory', exitCode, signal };
  if (signalNumber === 9) return { cause: 'killed', exitCode, signal };
  if (signal) return { cause: 'signal', exitCode, signal };
  return { cause: 'exit_code', exitCode, signal };
}

/** Why it ended, as the end of a sentence ("...: it ran out of memory (limit 512 MiB)"). */
export function causeInWords(exit: Pick<RuntimeExit, 'cause' | 'exitCode' | 'signal' | 'memoryMb'>): string {
  switch (exit.cause) {
    case 'out_of_memory':
      return `it ran out of memory${exit.memoryMb ? ` (limit ${exit.memoryMb} MiB)` : ''}`;
    case 'killed':
      return 'it was killed (SIGKILL)';
    case 'signal':
      return `it was ended by ${exit.signal}`;
    case 'removed':
      return 'its container was removed outside CrewClaw';
    default:
      return exit.exitCode ? `its process exited with code ${exit.exitCode}` : 'its process exited';
  }
}

/** The English sentence for API clients, the audit log and the runtime's notice. */
export function exitInWords(exit: RuntimeExit): string {
  const when = `${exit.at.slice(0, 16).replace('T', ' ')} UTC`;
  const cause = causeInWords(exit);
  switch (exit.outcome) {
    case 'restarted':
      return `Your runtime stopped unexpectedly at ${when}: ${cause}. It was restarted automatically.`;
    case 'halted':
      return `Your runtime kept crashing: ${cause} (${exit.crashes} times in a few minutes). It was stopped so that it does not keep failing. Start it again, or ask an admin to raise its limits.`;
    case 'removed':
      return `Your runtime was removed outside CrewClaw at ${when}. Opening it or pressing Start makes a new one; your files are kept.`;
    case 'survived':
      return `A process in your runtime was killed for lack of memory at ${when}${exit.memoryMb ? ` (limit ${exit.memoryMb} MiB)` : ''}; the runtime kept running.`;
    default:
      return `Your runtime stopped at ${when}: ${cause}. Opening it or pressing Start starts it again.`;
  }
}
