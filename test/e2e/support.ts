// Helpers for the e2e tests: every call goes through the running edge (make up) on 127.0.0.1:8080,
// with real outside clients: grpcurl, buf curl and a plain grpc-js client.
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";

/** The repo root (tests run from it). */
export const repo = join(import.meta.dirname, "..", "..");
/** The edge: plaintext h2c. */
export const EDGE = "127.0.0.1:8080";
/** A card the simulated processor accepts. */
export const GOOD_CARD = { number: "4242424242424242", cvv: "123", expirationYear: 2030, expirationMonth: 12 };

/** What a command printed and how it ended. */
export interface Run { code: number; stdout: string; stderr: string }

/** Runs a command from the repo root, bounded in time. */
export function sh(cmd: string, args: string[], input?: string, timeoutMs = 30_000): Run {
  const r = spawnSync(cmd, args, { cwd: repo, input, encoding: "utf8", timeout: timeoutMs });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A gRPC error as grpcurl reports it: "Code: NotFound". */
export function grpcCode(run: Run): string | undefined {
  return /Code: (\w+)/.exec(run.stderr)?.[1];
}

/** grpcurl through the edge. `method` is "shop.cart.v1.CartService/AddItem". */
export function grpcurl(method: string, body: unknown, token?: string, extra: string[] = []): Run {
  const args = ["-plaintext", "-max-time", "20", ...extra];
  if (token) args.push("-H", `authorization: Bearer ${token}`);
  args.push("-d", JSON.stringify(body), EDGE, method);
  return sh(join(repo, ".bin", "grpcurl"), args);
}

/** grpcurl that must succeed; returns the parsed JSON response. */
export function grpcurlOk<T = Record<string, unknown>>(method: string, body: unknown, token?: string): T {
  const r = grpcurl(method, body, token);
  if (r.code !== 0) throw new Error(`${method} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** A fresh user, registered and logged in through the edge; returns its access token. */
export function newUser(prefix = "e2e"): { email: string; password: string; token: string; userId: string } {
  const email = `${prefix}-${randomUUID()}@example.com`;
  const password = "correct horse battery";
  grpcurlOk("shop.auth.v1.AuthService/Register", { email, password, displayName: "E2E" });
  const login = grpcurlOk<{ accessToken: string; user: { id: string } }>("shop.auth.v1.AuthService/Login", { email, password });
  return { email, password, token: login.accessToken, userId: login.user.id };
}
