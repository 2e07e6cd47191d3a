/** Shapes of the control-plane API (base path /api), as the server documents them. */

export type Role = 'admin' | 'user';

export interface User {
  id: number;
  username: string;
  role: Role;
  disabled: boolean;
  /** ISO 8601 timestamps. */
  createdAt: string;
  updatedAt: string;
  lastLoginAt: string | null;
}

export interface FieldErrorBody {
  field: string;
  message: string;
}

/** Every 4xx/5xx response carries this body. */
export interface ErrorBody {
  error: {
    code: string;
    message: string;
    fields?: FieldErrorBody[];
  };
}

export interface SessionResponse {
  user: User;
  csrfToken: string;
}

export interface Credentials {
  username: string;
  password: string;
}

export interface NewUser extends Credentials {
  role: Role;
}

export interface UserPatch {
  role?: Role;
  disabled?: boolean;
  password?: string;
}

export interface PasswordChange {
  currentPassword: string;
  newPassword: string;
}
