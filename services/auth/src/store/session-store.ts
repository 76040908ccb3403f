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

/** Counts failed logins per email within a window. */
export interface LoginLimiter {
  /** Failures recorded for this email in the current window. */
  failures(email: string): Promise<number>;
  /** Records one failure. */
  recordFailure(email: string): Promise<void>;
  /** Forgets failures after a successful login. */
  reset(email: string): Promise<void>;
}
