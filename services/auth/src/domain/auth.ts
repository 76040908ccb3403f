// The auth use cases: register, log in, refresh, log out, read one's own user. Transport-free:
// handlers.ts adapts these to gRPC; errors are mesh domain errors.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { NotFoundError, RateLimitedError, UnauthenticatedError } from "@shopmesh/mesh";
import type { LoginLimiter, SessionStore } from "../store/session-store.js";
import type { UserRecord, UserStore } from "../store/user-store.js";
import { issueAccessToken } from "./access-tokens.js";
import { hashPassword, verifyPassword } from "./passwords.js";
import type { SigningKey } from "./signing-keys.js";
import { normalizeEmail, validateLogin, validateRefreshToken, validateRegistration } from "./validate.js";

/** A user as other parties may see it: no password hash. */
export type PublicUser = Omit<UserRecord, "passwordHash">;

/** A fresh access + refresh token pair. */
export interface TokenPair {
  /** ES256 JWT. */
  accessToken: string;
  /** When the JWT expires. */
  accessTokenExpiresAt: Date;
  /** Opaque refresh token (shown once; only its hash is stored). */
  refreshToken: string;
}

/** What the auth use cases depend on. */
export interface AuthDeps {
  users: UserStore;
  sessions: SessionStore;
  limiter: LoginLimiter;
  /** The current signing key. */
  signingKey: SigningKey;
  accessTokenTtlSeconds: number;
  loginMaxFailures: number;
}

/** The auth use cases. */
export interface Auth {
  register(req: { email: string; password: string; displayName: string }): Promise<PublicUser>;
  login(req: { email: string; password: string }): Promise<TokenPair & { user: PublicUser }>;
  refresh(refreshToken: string): Promise<TokenPair>;
  logout(refreshToken: string): Promise<void>;
  getUser(callerId: string, requestedId: string): Promise<PublicUser>;
}

// One message for wrong email and wrong password, so a caller cannot probe which emails exist.
const BAD_CREDENTIALS = "wrong email or password";
const BAD_REFRESH = "refresh token is invalid, expired or revoked";

function publicUser(u: UserRecord): PublicUser {
  const { passwordHash: _omit, ...rest } = u;
  return rest;
}

/** SHA-256 of a refresh token, as stored. The token has 256 random bits, so no salt or slow hash is needed. */
export function hashRefreshToken(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}

/** A new user record: a fresh opaque id and the scrypt hash of the password. */
export async function newUserRecord(email: string, displayName: string, password: string, roles: string[]): Promise<UserRecord> {
  return { id: `u_${randomBytes(12).toString("base64url")}`, email, displayName, roles,
    passwordHash: await hashPassword(password), createTime: new Date() };
}

function newRefreshToken(): string {
  return randomBytes(32).toString("base64url");
}

/** Builds the auth use cases. */
export async function createAuth(deps: AuthDeps): Promise<Auth> {
  // Verified against when the email is unknown, so an unknown email costs the same scrypt work
  // as a wrong password and response time does not tell which emails are registered.
  const dummyHash = await hashPassword(randomBytes(16).toString("hex"));

  async function accessToken(user: { id: string; roles: string[] }) {
    return issueAccessToken(deps.signingKey, user, deps.accessTokenTtlSeconds);
  }

  return {
    async register(req) {
      validateRegistration(req);
      const email = normalizeEmail(req.email);
      // No role ever comes from a public RPC: an admin is made by an operator (admin.ts).
      const user = await newUserRecord(email, req.displayName, req.password, []);
      await deps.users.insert(user);
      return publicUser(user);
    },

    async login(req) {
      validateLogin(req);
      const email = normalizeEmail(req.email);
      // Every attempt counts until one succeeds, so N parallel guesses use up N attempts.
      if ((await deps.limiter.attempt(email)) > deps.loginMaxFailures) {
        throw new RateLimitedError("too many failed logins for this email; try again later");
      }
      const user = await deps.users.findByEmail(email);
      const ok = await verifyPassword(req.password, user?.passwordHash ?? dummyHash);
      if (!user || !ok) throw new UnauthenticatedError(BAD_CREDENTIALS);
      await deps.limiter.reset(email);
      const refreshToken = newRefreshToken();
      await deps.sessions.startFamily(hashRefreshToken(refreshToken), user.id, randomUUID());
      const at = await accessToken(user);
      return { accessToken: at.token, accessTokenExpiresAt: at.expiresAt, refreshToken, user: publicUser(user) };
    },

    async refresh(token) {
      validateRefreshToken(token);
      const next = newRefreshToken();
      const found = await deps.sessions.rotate(hashRefreshToken(token), hashRefreshToken(next));
      if (found.state !== "active") throw new UnauthenticatedError(BAD_REFRESH); // "reused" already revoked the family
      const user = await deps.users.findById(found.userId);
      if (!user) {
        await deps.sessions.revokeFamily(found.familyId);
        throw new UnauthenticatedError(BAD_REFRESH);
      }
      const at = await accessToken(user); // roles are re-read, so a role change takes effect on refresh
      return { accessToken: at.token, accessTokenExpiresAt: at.expiresAt, refreshToken: next };
    },

    async logout(token) {
      validateRefreshToken(token);
      const family = await deps.sessions.familyOf(hashRefreshToken(token));
      // Unknown tokens are fine: Logout is idempotent, and saying "unknown" would help nobody.
      if (family) await deps.sessions.revokeFamily(family);
    },

    async getUser(callerId, requestedId) {
      // Another user's id gets NotFound, not PermissionDenied: no hint that the id exists.
      if (requestedId !== "" && requestedId !== callerId) throw new NotFoundError("user not found");
      const user = await deps.users.findById(callerId);
      if (!user) throw new NotFoundError("user not found");
      return publicUser(user);
    },
  };
}
