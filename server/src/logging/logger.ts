/**
 * The winston logger: JSON lines in production, readable lines in development.
 * Every entry passes through secret redaction before any transport sees it.
 */
import type { Writable } from 'node:stream';
import winston from 'winston';
import { isSensitiveKey, redact, REDACTED } from './redact';

export type Logger = winston.Logger;

export interface LoggerOptions {
  level: string;
  format: 'json' | 'pretty';
  /** Where lines go; stdout unless a test captures them. */
  stream?: Writable;
}

const redactSecrets = winston.format((info) => {
  const metadataKeys = Object.keys(info).filter((key) => key !== 'level' && key !== 'message');
  for (const key of metadataKeys) {
    info[key] = isSensitiveKey(key) ? REDACTED : redact(info[key]);
  }
  return info;
});

const pretty = winston.format.printf(({ level, message, timestamp, module, ...meta }) => {
  const extra = Object.keys(meta).length > 0 ? ` ${JSON.stringify(meta)}` : '';
  const scope = typeof module === 'string' ? ` [${module}]` : '';
  return `${String(timestamp)} ${level}${scope}: ${String(message)}${extra}`;
});

export function createLogger(options: LoggerOptions): Logger {
  const formats = [winston.format.errors({ stack: true }), redactSecrets(), winston.format.timestamp()];
  const format =
    options.format === 'json'
      ? winston.format.combine(...formats, winston.format.json())
      : winston.format.combine(...formats, winston.format.colorize(), pretty);
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console();
  return winston.createLogger({ level: options.level, format, transports: [transport] });
}
