// Load-test users: registered once through the edge and remembered in .run/loadtest/users.json, so
// repeated runs only log in (one scrypt hash each) instead of registering again (two).
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { AuthService } from "@shopmesh/gen/shop/auth/v1/auth_pb.js";
import { CallError, type EdgeClient } from "./edge-client.js";

/** A logged-in load-test user. */
export interface LoadUser {
  /** Email, unique per user. */
  email: string;
  /** Password, random per user. */
  password: string;
  /** Access JWT from the latest login. */
  token: string;
}

interface Credentials {
  email: string;
  password: string;
}

/** Options of ensureUsers. */
export interface EnsureUsersOptions {
  /** How many users are needed. */
  count: number;
  /** Where credentials are remembered between runs. */
  file: string;
  /** Logins in flight at once; auth hashes with scrypt, so keep this small. Default 4. */
  parallel?: number;
}

function readCredentials(file: string): Credentials[] {
  if (!existsSync(file)) return [];
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
    return Array.isArray(parsed) ? (parsed as Credentials[]) : [];
  } catch {
    // A damaged cache only costs registrations, never the run.
    return [];
  }
}

async function login(client: EdgeClient, c: Credentials): Promise<string> {
  const res = await client.call(AuthService.method.login, c);
  return res.accessToken;
}

async function registerAndLogin(client: EdgeClient, c: Credentials): Promise<string> {
  try {
    await client.call(AuthService.method.register, { ...c, displayName: "load test" });
  } catch (err) {
    // Registered by an earlier run whose cache was lost: logging in settles it.
    if (!(err instanceof CallError && err.code === "ALREADY_EXISTS")) throw err;
  }
  return login(client, c);
}

/** Returns `count` logged-in users, registering the ones the cache lacks (or the database lost). */
export async function ensureUsers(client: EdgeClient, opts: EnsureUsersOptions): Promise<LoadUser[]> {
  const creds = readCredentials(opts.file).slice(0, opts.count);
  while (creds.length < opts.count) {
    creds.push({
      email: `load-${randomBytes(6).toString("hex")}@loadtest.shopmesh.test`,
      password: randomBytes(12).toString("hex"),
    });
  }
  mkdirSync(dirname(opts.file), { recursive: true });
  writeFileSync(opts.file, JSON.stringify(creds, null, 1));
  const users: LoadUser[] = new Array(creds.length);
  let next = 0;
  const worker = async () => {
    while (next < creds.length) {
      const i = next++;
      const c = creds[i]!;
      let token: string;
      try {
        token = await login(client, c);
      } catch (err) {
        // UNAUTHENTICATED: a fresh database no longer knows this cached user.
        if (!(err instanceof CallError && err.code === "UNAUTHENTICATED")) throw err;
        token = await registerAndLogin(client, c);
      }
      users[i] = { ...c, token };
    }
  };
  await Promise.all(Array.from({ length: opts.parallel ?? 4 }, worker));
  return users;
}
