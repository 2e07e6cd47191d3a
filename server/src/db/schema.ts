/** Every table, for drizzle-kit and the typed client. */
export * from './users.table';
export * from './sessions.table';
export * from './audit-log.table';
export * from './runtimes.table';
export * from './runtime-host-sessions.table';
export * from './model-calls.table';
export * from './models.table';
