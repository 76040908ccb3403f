// Helpers for the e2e tests: every call goes through the running edge (make up) on 127.0.0.1:8080,
// with real outside clients: grpcurl, buf curl and a plain grpc-js client.
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeJwt, decodeProtectedHeader, importPKCS8, SignJWT } from "jose";

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

/** A gRPC error as grpcurl reports it: "Code: NotFound", or "code = Unauthenticated" when the refusal
 * came to its reflection request (a sidecar checks a token on every call, reflection included). */
export function grpcCode(run: Run): string | undefined {
  return /Code: (\w+)/.exec(run.stderr)?.[1] ?? /rpc error: code = (\w+)/.exec(run.stderr)?.[1];
}

/** grpcurl through the edge. `method` is "shop.cart.v1.CartService/AddItem". */
export function grpcurl(method: string, body: unknown, token?: string, extra: string[] = []): Run {
  const args = ["-plaintext", "-max-time", "20", ...extra];
  if (token) args.push("-H", `authorization: Bearer ${token}`);
  args.push("-d", JSON.stringify(body), EDGE, method);
  return sh(join(repo, ".bin", "grpcurl"), args);
}

/** grpcurl that must succeed; returns the parsed JSON response. */
export function grpcurlOk<T = Record<string, unknown>>(method: string, body: unknown, token?: string, extra: string[] = []): T {
  const r = grpcurl(method, body, token, extra);
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

/** A process of the running mesh as .run/mesh.json records it (runner/src/supervisor.ts, Proc). */
export interface Recorded { name: string; kind: string; port: number; adminPort?: number; env?: Record<string, string> }

/** What .run/mesh.json records: every process of the running mesh (none when it is not up). */
export const recorded = (): Recorded[] => {
  const file = join(repo, ".run", "mesh.json");
  return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) as Recorded[] : [];
};

/** The mode of the running mesh: `make up MESH=istio` records istiod, local mode does not. */
export const MESH_MODE: "local" | "istio" = recorded().some((p) => p.kind === "control") ? "istio" : "local";

/**
 * Where local mode and istio mode answer differently, each for a reason of Istio's own; the tests
 * expect the mode's answer, and docs/istio-local.md lists the same differences.
 */
export const ISTIO_DIFFERS = {
  /** Istio's AuthorizationPolicy refuses a request with no JWT with 403 (PermissionDenied, "RBAC: access
   * denied"), by design (istio/istio#26559; a requireJwt switch is only proposed, istio/api#3597). */
  noTokenCode: MESH_MODE === "istio" ? "PermissionDenied" : "Unauthenticated",
  /** The gateway routes only the edge's methods (istio/components/traffic); nginx sends the rest to the
   * service, which refuses the edge. Either way the service never serves it. */
  internalAtEdgeCode: MESH_MODE === "istio" ? "Unimplemented" : "PermissionDenied",
  /** Envoy's jwt_authn answers a token whose audience it does not accept with 403 (JwtAudienceNotAllowed),
   * every other bad token with 401. */
  badTokenCode(variant: string, isPublic: boolean): string {
    if (MESH_MODE === "local") return isPublic ? "OK" : "Unauthenticated";
    return /audience/.test(variant) ? "PermissionDenied" : "Unauthenticated";
  },
  /** How a stream ends at the client's deadline: every Envoy on the path enforces grpc-timeout too, and
   * one whose timer fires first resets the stream it already answered (RST_STREAM INTERNAL_ERROR). */
  streamDeadline(run: Run): string {
    const code = /Code: (\w+)/.exec(run.stderr)?.[1];
    if (MESH_MODE === "istio" && code === "Internal" && /RST_STREAM with error code: INTERNAL_ERROR/.test(run.stderr)) return "DeadlineExceeded";
    return code ?? "none";
  },
};

/**
 * `accessToken` re-signed with auth's own key and kid with the admin role added: what a token of
 * an account `make admin` granted carries, without the operator step.
 */
export async function withAdminRole(accessToken: string): Promise<string> {
  const key = await importPKCS8(readFileSync(authSigningKeyFile(), "utf8"), "ES256");
  const { kid } = decodeProtectedHeader(accessToken);
  return new SignJWT({ ...decodeJwt(accessToken), roles: ["admin"] }).setProtectedHeader({ alg: "ES256", kid: kid! }).sign(key);
}

/** The key auth signs access tokens with: its JWT_KEY_FILE as the runner started it. */
export function authSigningKeyFile(): string {
  const file = recorded().find((p) => p.name === "auth")?.env?.JWT_KEY_FILE;
  if (!file) throw new Error(".run/mesh.json records no auth with JWT_KEY_FILE: is the mesh up (make up)?");
  return file;
}
