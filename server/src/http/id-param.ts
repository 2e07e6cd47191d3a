import { NotFoundError } from '../errors/app-error';

/** A numeric id from the path. Ids that are not positive integers name nothing: the same 404 as a missing one. */
export function idParam(raw: string | string[] | undefined, what: string): number {
  const id = typeof raw === 'string' && /^[1-9]\d{0,15}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(id)) throw new NotFoundError(what);
  return id;
}
