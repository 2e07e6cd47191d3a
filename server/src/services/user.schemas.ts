/**
 * The rules for account input, shared by the HTTP API and the admin CLI.
 * Objects are strict: an unknown field is a field error, not silently dropped.
 */
import { z } from 'zod';

// Usernames later become container, volume and URL names, hence the narrow alphabet.
export const usernameSchema = z
  .string({ error: 'must be a string' })
  .min(2, 'must be 2 to 32 characters')
  .max(32, 'must be 2 to 32 characters')
  .regex(/^[a-z][a-z0-9-]*$/, 'use lowercase letters, digits and "-", starting with a letter');

export const passwordSchema = z
  .string({ error: 'must be a string' })
  .min(8, 'must be at least 8 characters')
  .max(256, 'must be at most 256 characters');

export const roleSchema = z.enum(['admin', 'user'], { error: 'must be "admin" or "user"' });

export const credentialsSchema = z.strictObject({
  username: z.string({ error: 'must be a string' }).min(1, 'is required').max(256, 'is too long'),
  password: z.string({ error: 'must be a string' }).min(1, 'is required').max(256, 'is too long'),
});

export const setupSchema = z.strictObject({ username: usernameSchema, password: passwordSchema });

export const createUserSchema = z.strictObject({
  username: usernameSchema,
  password: passwordSchema,
  role: roleSchema.default('user'),
});

export const updateUserSchema = z
  .strictObject({
    role: roleSchema.optional(),
    disabled: z.boolean({ error: 'must be true or false' }).optional(),
    password: passwordSchema.optional(),
  })
  .refine((patch) => Object.values(patch).some((value) => value !== undefined), { message: 'give at least one of role, disabled, password' });

export const changePasswordSchema = z.strictObject({
  currentPassword: z.string({ error: 'must be a string' }).min(1, 'is required').max(256, 'is too long'),
  newPassword: passwordSchema,
});

export type Credentials = z.infer<typeof credentialsSchema>;
export type SetupInput = z.infer<typeof setupSchema>;
export type CreateUserInput = z.infer<typeof createUserSchema>;
export type UpdateUserInput = z.infer<typeof updateUserSchema>;
export type ChangePasswordInput = z.infer<typeof changePasswordSchema>;
