/**
 * Admin command line for self-hosters who locked themselves out:
 *   npm run admin -- create-user NAME [--admin]
 *   npm run admin -- reset-password NAME
 * It opens the same database as the server (safe while it runs: WAL and a busy
 * timeout), applies pending migrations, and goes through the same services,
 * so the rules, session ending and audit trail are the same as over the API.
 */
import { ConfigError, loadConfig } from '../config/config';
import { openDatabase } from '../db/client';
import { migrateDatabase } from '../db/migrate';
import { AppError } from '../errors/app-error';
import { createServices } from '../platform';
import { CLI_CONTEXT } from '../services/request-context';
import { z } from 'zod';
import { passwordSchema, usernameSchema } from '../services/user.schemas';
import { parseInput } from '../services/validate';
import { readNewPassword } from './read-password';

const USAGE = `Usage:
  npm run admin -- create-user NAME [--admin]   create a user (an admin with --admin)
  npm run admin -- reset-password NAME          set a new password and end their sessions
The password is asked for twice on a terminal, or read from the first line of stdin.`;

class UsageError extends Error {}

/** Same rules and messages as the API: a ValidationError naming the field. */
function validField(field: string, schema: z.ZodType<string>, value: string): string {
  return parseInput(z.strictObject({ [field]: schema }), { [field]: value })[field] as string;
}

async function run(args: string[]): Promise<string> {
  const [command, name, ...rest] = args;
  if (!command || !name || command === '--help') throw new UsageError(USAGE);
  const flags = new Set(rest);
  const unknownFlags = [...flags].filter((flag) => flag !== '--admin' || command !== 'create-user');
  if (unknownFlags.length > 0) throw new UsageError(`Unknown option ${unknownFlags.join(' ')}.\n${USAGE}`);

  const config = loadConfig();
  const database = openDatabase(config.databaseFile);
  try {
    migrateDatabase(database);
    const services = createServices(database, config);
    if (command === 'create-user') {
      const username = validField('username', usernameSchema, name);
      const password = validField('password', passwordSchema, await readNewPassword());
      const user = await services.users.create(CLI_CONTEXT, { username, password, role: flags.has('--admin') ? 'admin' : 'user' });
      return `Created ${user.role} "${user.username}".`;
    }
    if (command === 'reset-password') {
      const username = validField('username', usernameSchema, name);
      const password = validField('password', passwordSchema, await readNewPassword());
      const user = await services.users.resetPassword(CLI_CONTEXT, username, password);
      return `New password set for "${user.username}"; their sessions have ended.${user.disabled ? ' Note: this account is disabled.' : ''}`;
    }
    throw new UsageError(`Unknown command "${command}".\n${USAGE}`);
  } finally {
    database.close();
  }
}

function describe(error: unknown): string {
  if (error instanceof AppError) {
    const fields = error.fields?.map((field) => `  ${field.field}: ${field.message}`).join('\n');
    return fields ? `${error.message}\n${fields}` : error.message;
  }
  if (error instanceof ConfigError || error instanceof UsageError) return error.message;
  return error instanceof Error ? error.message : String(error);
}

run(process.argv.slice(2)).then(
  (message) => {
    console.log(message);
  },
  (error: unknown) => {
    console.error(describe(error));
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
