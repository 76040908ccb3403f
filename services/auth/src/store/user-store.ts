// What auth's domain needs from user storage. Plain objects in and out, never driver types.

/** A stored user, including the password hash (which never leaves the service). */
export interface UserRecord {
  /** Opaque id. */
  id: string;
  /** Lower-cased, unique. */
  email: string;
  /** Display name. */
  displayName: string;
  /** Roles, e.g. ["admin"]. */
  roles: string[];
  /** scrypt hash string. */
  passwordHash: string;
  /** Registration time. */
  createTime: Date;
}

/** User storage. */
export interface UserStore {
  /** Inserts a user; throws AlreadyExistsError when the email is taken. */
  insert(user: UserRecord): Promise<void>;
  /** The user with this (lower-cased) email, or undefined. */
  findByEmail(email: string): Promise<UserRecord | undefined>;
  /** The user with this id, or undefined. */
  findById(id: string): Promise<UserRecord | undefined>;
  /** Adds a role to a user (idempotent); false when no user has this id. */
  grantRole(id: string, role: string): Promise<boolean>;
  /** Closes connections. */
  close(): Promise<void>;
}
