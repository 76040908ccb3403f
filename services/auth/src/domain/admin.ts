// Making an admin: an operator action (`make admin`, or the same command in a cluster), never a
// public RPC. Register grants no role (issue 14: an email listed in the config made whoever
// registered it first an admin, with no proof).
//
// An existing account is granted only by its id, never by its email: with no email verification,
// anyone can register any address first, and granting "the account of admin@…" would hand the
// role to whoever squatted it. The operator learns the id from the account itself (GetUser).
import { randomBytes } from "node:crypto";
import { AlreadyExistsError, NotFoundError } from "@shopmesh/mesh";
import type { UserRecord, UserStore } from "../store/user-store.js";
import { newUserRecord } from "./auth.js";
import { normalizeEmail, validateRegistration } from "./validate.js";

export const ADMIN_ROLE = "admin";

/** A new admin account with a generated password (shown once, to the operator). */
export interface CreatedAdmin {
  user: Omit<UserRecord, "passwordHash">;
  password: string;
}

/** Creates a new account with the admin role; AlreadyExistsError when the email is registered. */
export async function createAdmin(users: UserStore, rawEmail: string): Promise<CreatedAdmin> {
  // 24 base64url characters: 144 random bits.
  const password = randomBytes(18).toString("base64url");
  validateRegistration({ email: rawEmail, password, displayName: "" });
  const email = normalizeEmail(rawEmail);
  const user = await newUserRecord(email, "admin", password, [ADMIN_ROLE]);
  try {
    await users.insert(user);
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
    throw new AlreadyExistsError(`${email} is registered already; to make that account an admin, grant it by id ` +
      "(make admin USER_ID=u_…; GetUser with the account's own token shows its id)");
  }
  const { passwordHash: _omit, ...shown } = user;
  return { user: shown, password };
}

/** Grants the admin role to an existing account, by id; NotFoundError when there is none. */
export async function grantAdmin(users: UserStore, id: string): Promise<void> {
  if (!(await users.grantRole(id, ADMIN_ROLE))) throw new NotFoundError(`no user has the id ${id}`);
}
