/**
 * Start-up: load config -> logger -> open database -> back up and migrate ->
 * build the app -> listen. Any failure before listening exits non-zero with a
 * message that says what to fix.
 */
import http from 'node:http';
import { ConfigError, loadConfig } from './config/config';
import { openDatabase } from './db/client';
import { DatabaseTooNewError, migrateDatabase } from './db/migrate';
import { createLogger } from './logging/logger';
import { createPlatform } from './platform';

/**
 * Room for what Traefik lets through (32 KiB of request headers on its entrypoints, compose.yaml) twice
 * over: the forward-auth check receives the browser's headers plus the path again in X-Forwarded-Uri.
 * Below that, Node would cut the connection while Traefik still writes, and the browser would see a 500.
 */
const MAX_HEADER_BYTES = 128 * 1024;

function main(): void {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  const database = openDatabase(config.databaseFile);
  const migration = migrateDatabase(database);
  logger.info('database ready', { file: config.databaseFile, migrations: migration.known, backup: migration.backupFile });

  const platform = createPlatform(config, logger, database);
  const server = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES }, platform.app);
  server.listen(config.port, config.host, () => {
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
