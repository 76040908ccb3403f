// What auth's domain needs from refresh-token storage.

/** What a presented refresh token resolves to. */
export type RefreshLookup =
  | { state: "active"; userId: string; familyId: string }
  | { state: "reused"; userId: string; familyId: string }
  | { state: "invalid" };

/** Refresh tokens in families: rotation, reuse detection, revocation. Tokens are stored hashed. */
export interface SessionStore {
  /** Stores a new token as the first of a new family. */
  startFamily(tokenHash: string, userId: string, familyId: string): Promise<void>;
  /**
   * Atomically marks the presented token as used and, if it was active and its family alive,
   * stores the successor in the same family. A token already used is reported as "reused".
   */
  rotate(tokenHash: string, nextTokenHash: string): Promise<RefreshLookup>;
  /** Revokes a family: every token of it stops working. */
  revokeFamily(familyId: string): Promise<void>;
  /** The family of a token, alive or not, or undefined when the token is unknown. */
  familyOf(tokenHash: string): Promise<string | undefined>;
}

/** Counts login attempts per email within a window; a successful login clears the count. */
export interface LoginLimiter {
  /**
   * Counts one attempt atomically and returns the count in the current window, including this
   * one. Counting before the password check means parallel guesses cannot all slip past the limit.
   */
  attempt(email: string): Promise<number>;
  /** Forgets the attempts after a successful login. */
  reset(email: string): Promise<void>;
}
