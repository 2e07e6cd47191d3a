/** Turns zod's verdict on untrusted input into a ValidationError naming each field. */
import type { z } from 'zod';
import { ValidationError, type FieldError } from '../errors/app-error';

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  return path.reduce<unknown>((value, key) => (value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined), input);
}

function fieldErrors(error: z.ZodError, input: unknown): FieldError[] {
  return error.issues.flatMap((issue): FieldError[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: [...issue.path, key].join('.'), message: 'is not a known field' }));
    }
    const field = issue.path.join('.');
    if (field === '') return [{ field: '(body)', message: issue.message }];
    return [{ field, message: valueAt(input, issue.path) === undefined ? 'is required' : issue.message }];
  });
}

export function parseInput<Schema extends z.ZodType>(schema: Schema, input: unknown): z.output<Schema> {
  if (input === undefined || input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ValidationError([{ field: '(body)', message: 'must be a JSON object' }]);
  }
  const result = schema.safeParse(input);
  if (!result.success) throw new ValidationError(fieldErrors(result.error, input));
  return result.data;
}
