/**
 * Start-up: load config -> logger -> open database -> back up and migrate ->
 * build the app -> listen. Any failure before listening exits non-zero with a
 * message that says what to fix.
 */
import { ConfigError, loadConfig } from './config/config';
import { openDatabase } from './db/client';
import { DatabaseTooNewError, migrateDatabase } from './db/migrate';
import { createLogger } from './logging/logger';
import { createPlatform } from './platform';

function main(): void {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  const database = openDatabase(config.databaseFile);
  const migration = migrateDatabase(database);
  logger.info('database ready', { file: config.databaseFile, migrations: migration.known, backup: migration.backupFile });

  const platform = createPlatform(config, logger, database);
  const server = platform.app.listen(config.port, config.host, () => {
    logger.info('CrewClaw control plane listening', { host: config.host, port: config.port, publicUrl: config.publicUrl });
  });
  server.on('error', (error) => {
    logger.error('cannot listen', { error });
    process.exit(1);
  });

  const shutdown = (signal: string) => {
    logger.info('shutting down', { signal });
    server.close(() => {
      platform.close();
      database.close();
      process.exit(0);
    });
    // Keep-alive connections must not hold shutdown hostage.
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

try {
  main();
} catch (error) {
  if (error instanceof ConfigError || error instanceof DatabaseTooNewError) {
    console.error(`CrewClaw cannot start. ${error.message}`);
  } else {
    console.error('CrewClaw cannot start:', error);
  }
  process.exit(1);
}
