/** Tells Express and passport what `req.user` is, and that every request has an id. */
import type { User as PlatformUser } from '../services/user.service';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface User extends PlatformUser {}
    interface Request {
      id: string;
    }
  }
}

export {};
