// Input rules of auth, straight from the proto comments (proto/shop/auth/v1/auth.proto).
import { Violations } from "@shopmesh/mesh";

/** Longest email we accept (RFC 5321's path limit). */
export const MAX_EMAIL = 254;
/** Password length bounds. */
export const MIN_PASSWORD = 8;
export const MAX_PASSWORD = 128;
/** Longest display name. */
export const MAX_DISPLAY_NAME = 100;

// Deliberately simple: one @, no whitespace, a dot in the domain. Full RFC 5322 parsing accepts
// addresses no mail server delivers to; the real check is the user receiving mail.
const EMAIL = /^[^\s@]{1,64}@[^\s@.]+(\.[^\s@.]+)+$/;
// Control characters in a display name break logs and UIs.
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Normalizes an email for storage and lookup: addresses are compared case-insensitively. */
export function normalizeEmail(email: string): string {
  return email.toLowerCase();
}

/** Validates a RegisterRequest; throws ValidationError listing every violation. */
export function validateRegistration(req: { email: string; password: string; displayName: string }): void {
  const v = new Violations();
  if (req.email === "") v.check(false, "email", "is required");
  else {
    // One violation per field: a too-long address is not also reported as malformed.
    if (v.check(req.email.length <= MAX_EMAIL, "email", `must be at most ${MAX_EMAIL} characters`)) {
      v.check(EMAIL.test(req.email), "email", "must be a valid email address");
    }
  }
  v.check(req.password.length >= MIN_PASSWORD, "password", `must be at least ${MIN_PASSWORD} characters`);
  v.check(req.password.length <= MAX_PASSWORD, "password", `must be at most ${MAX_PASSWORD} characters`);
  v.check(req.displayName.length <= MAX_DISPLAY_NAME, "display_name", `must be at most ${MAX_DISPLAY_NAME} characters`);
  v.check(!CONTROL.test(req.displayName), "display_name", "must not contain control characters");
  v.throwIfAny();
}

/** Validates a LoginRequest: presence and size only, so a bad login never reveals the rules. */
export function validateLogin(req: { email: string; password: string }): void {
  const v = new Violations();
  v.check(req.email !== "", "email", "is required");
  v.check(req.email.length <= MAX_EMAIL, "email", `must be at most ${MAX_EMAIL} characters`);
  v.check(req.password !== "", "password", "is required");
  v.check(req.password.length <= MAX_PASSWORD, "password", `must be at most ${MAX_PASSWORD} characters`);
  v.throwIfAny();
}

/** Validates a presented refresh token: required, and no longer than any we issue. */
export function validateRefreshToken(token: string): void {
  const v = new Violations();
  v.check(token !== "", "refresh_token", "is required");
  v.check(token.length <= 128, "refresh_token", "must be at most 128 characters");
  v.throwIfAny();
}
