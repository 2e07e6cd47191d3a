/**
 * Sign-in throttling: failed attempts are counted per client IP (guessing many
 * accounts) and per username (guessing one account from many addresses).
 * Successful sign-ins do not count.
 */
import type { Request, RequestHandler } from 'express';
import { rateLimit, type RateLimitInfo } from 'express-rate-limit';
import { RateLimitedError } from '../errors/app-error';

export interface LoginLimits {
  windowMinutes: number;
  maxFailuresPerIp: number;
  maxFailuresPerUsername: number;
}

function usernameKey(req: Request): string {
  const body: unknown = req.body;
  const username = typeof body === 'object' && body !== null ? (body as { username?: unknown }).username : undefined;
  return `username:${typeof username === 'string' ? username.trim().toLowerCase().slice(0, 256) : ''}`;
}

export function createLoginRateLimit(limits: LoginLimits): RequestHandler[] {
  const windowMs = limits.windowMinutes * 60_000;
  const common = {
    windowMs,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8' as const,
    legacyHeaders: false,
    handler: (req: Request, _res: unknown, next: (error: unknown) => void) => {
      const info = (req as Request & { rateLimit?: RateLimitInfo }).rateLimit;
      const resetTime = info?.resetTime?.getTime() ?? Date.now() + windowMs;
      next(new RateLimitedError((resetTime - Date.now()) / 1000));
    },
  };
  return [
    rateLimit({ ...common, limit: limits.maxFailuresPerIp }),
    rateLimit({ ...common, limit: limits.maxFailuresPerUsername, keyGenerator: usernameKey }),
  ];
}
