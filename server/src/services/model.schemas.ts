/** The rules for the model catalog's input (providers, models, per-user limits). Strict objects. */
import { z } from 'zod';
import { MODEL_ACCESS, PROVIDER_KINDS } from '../db/models.table';

const name = z.string({ error: 'must be a string' }).trim().min(1, 'is required').max(64, 'must be at most 64 characters');
const baseUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http:// or https:// address' })
  .max(2048, 'is too long')
  .transform((url) => url.replace(/\/+$/, ''));
// Printable ASCII without spaces: what provider keys are. Newlines could not reach LiteLLM's file anyway.
const apiKey = z
  .string({ error: 'must be a string' })
  .trim()
  .min(8, 'must be at least 8 characters')
  .max(1024, 'is too long')
  .regex(/^[\x21-\x7e]+$/, 'must be printable characters without spaces')
  // LiteLLM would read these as references to its own environment or secret stores, not as a key.
  .refine((value) => !/^(os\.environ|oidc|azure_key_vault|aws_secret_manager|google_kms|hashicorp_vault)\//i.test(value), 'must be the key itself');

export const createProviderSchema = z.strictObject({
  name,
  kind: z.enum(PROVIDER_KINDS, { error: `must be one of ${PROVIDER_KINDS.join(', ')}` }),
  baseUrl: baseUrl.nullable().optional(),
  apiKey: apiKey.optional(),
});

export const updateProviderSchema = z.strictObject({
  name: name.optional(),
  baseUrl: baseUrl.nullable().optional(),
  apiKey: apiKey.nullable().optional(),
});

// The name users call a model by: OpenAI-style ids. "default" is taken: it means each user's default.
const modelName = z
  .string({ error: 'must be a string' })
  .min(1, 'is required')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'use letters, digits and . _ : -, starting with a letter or digit')
  .refine((value) => value.toLowerCase() !== 'default', '"default" is reserved: it stands for each user\'s default model');
const price = z.number({ error: 'must be a number' }).min(0, 'must be 0 or more').max(100_000, 'is too large');

const modelFields = {
  name: modelName,
  providerId: z.number({ error: 'must be a number' }).int().positive(),
  upstreamModel: z.string({ error: 'must be a string' }).trim().min(1, 'is required').max(256, 'is too long').regex(/^[\x21-\x7e]+$/, 'must not contain spaces'),
  contextWindow: z.number({ error: 'must be a number' }).int().min(1024, 'must be at least 1024').max(10_000_000),
  maxTokens: z.number({ error: 'must be a number' }).int().min(1).max(1_000_000),
  inputPricePerMTok: price.nullable(),
  outputPricePerMTok: price.nullable(),
  enabled: z.boolean({ error: 'must be true or false' }),
  isDefault: z.boolean({ error: 'must be true or false' }),
  access: z.enum(MODEL_ACCESS, { error: `must be one of ${MODEL_ACCESS.join(', ')}` }),
  allowedUserIds: z
    .array(z.number().int().positive(), { error: 'must be a list of user ids' })
    .max(10_000)
    .transform((ids) => [...new Set(ids)]),
};

export const createModelSchema = z.strictObject({
  name: modelFields.name,
  providerId: modelFields.providerId,
  upstreamModel: modelFields.upstreamModel,
  contextWindow: modelFields.contextWindow.default(128_000),
  maxTokens: modelFields.maxTokens.default(8192),
  inputPricePerMTok: modelFields.inputPricePerMTok.default(null),
  outputPricePerMTok: modelFields.outputPricePerMTok.default(null),
  enabled: modelFields.enabled.default(true),
  isDefault: modelFields.isDefault.default(false),
  access: modelFields.access.default('everyone'),
  allowedUserIds: modelFields.allowedUserIds.default([]),
});

export const updateModelSchema = z.strictObject(Object.fromEntries(Object.entries(modelFields).map(([key, schema]) => [key, schema.optional()])) as {
  [K in keyof typeof modelFields]: z.ZodOptional<(typeof modelFields)[K]>;
});

const tokens = z.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must be 0 (no limit) or more').max(1e12);
const dollars = z.number({ error: 'must be a number' }).min(0, 'must be 0 (no limit) or more').max(1e9);
const count = z.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must be 0 (no limit) or more').max(1e6);

export const limitOverridesSchema = z.strictObject({
  dailyTokens: tokens.nullable().optional(),
  monthlyTokens: tokens.nullable().optional(),
  dailyCostUsd: dollars.nullable().optional(),
  monthlyCostUsd: dollars.nullable().optional(),
  requestsPerMinute: count.nullable().optional(),
  concurrentRequests: count.nullable().optional(),
});

// A day that exists: 2026-02-31 is refused, not read as 3 March.
const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD')
  .refine((value) => !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value), 'is not a date');
export const usageRangeSchema = z.strictObject({ from: day.optional(), to: day.optional() });
export const usageDaysSchema = z.strictObject({ days: z.coerce.number({ error: 'must be a number' }).int().min(1).max(366).default(30) });
