// The admission checks every call passes before its handler, in order: the method must be in the
// topology; the caller's workload identity (mTLS SAN locally, x-forwarded-client-cert under Istio)
// must be in its `callers`; a non-public method needs a valid end-user JWT, and its `roles` if any.
import type { ServerUnaryCall } from "@grpc/grpc-js";
import type { MeshConfig } from "./config.js";
import type { InboundCall } from "./context.js";
import { createAccessTable } from "./access.js";
import { PermissionDeniedError, UnauthenticatedError } from "./errors.js";
import { identityFromCertificate, identityFromXfcc } from "./identity.js";
import { createJwtVerifier } from "./jwt.js";

/** The parts of a grpc-js server call the guard reads (common to unary and streaming calls). */
export type ServerSurfaceCall = Pick<ServerUnaryCall<unknown, unknown>, "metadata" | "getAuthContext">;

/**
 * Checks one inbound call; sets `inbound.caller` and `inbound.user`, or throws a domain error. Returns a
 * promise only when a token must be verified, so calls without one stay synchronous (no extra ticks).
 */
export type ServerGuard = (call: ServerSurfaceCall, inbound: InboundCall) => Promise<void> | undefined;

/** Creates the guard for a server from its config. */
export function createServerGuard(config: MeshConfig): ServerGuard {
  const table = createAccessTable(config.topology);
  const verify = createJwtVerifier(config.jwt);
  const callerOf = config.mode === "local" ? createTlsCallerLookup(config) : (call: ServerSurfaceCall) =>
    identityFromXfcc(call.metadata.get("x-forwarded-client-cert")[0] as string | undefined, config.trust);
  return (call, inbound) => {
    const rule = table.rule(inbound.path);
    // Unknown to the access table means nobody was granted it: deny rather than default-open.
    if (rule === undefined) throw new PermissionDeniedError(`${inbound.path} is not in the access table`);
    const caller = callerOf(call);
    if (caller === undefined) throw new PermissionDeniedError("caller has no mesh identity");
    if (rule.callers !== "any" && !rule.callers.has(caller)) throw new PermissionDeniedError(`${caller} may not call ${inbound.path}`);
    inbound.caller = caller;
    const auth = inbound.authorization;
    if (auth === undefined) {
      if (!rule.public) throw new UnauthenticatedError("missing access token");
      checkRoles(rule.roles, inbound);
      return undefined;
    }
    return (async () => {
      const token = auth.startsWith("Bearer ") ? auth.slice(7).trim() : undefined;
      try {
        if (token === undefined || token === "") throw new UnauthenticatedError("authorization must be a Bearer token");
        inbound.user = await verify(token);
      } catch (err) {
        // On public methods a stale token must not break browsing: the caller is treated as anonymous.
        if (!rule.public) throw err;
      }
      checkRoles(rule.roles, inbound);
    })();
  };
}

function checkRoles(required: readonly string[], inbound: InboundCall): void {
  if (required.length === 0) return;
  const roles = inbound.user?.roles ?? [];
  if (!required.some((r) => roles.includes(r))) throw new PermissionDeniedError(`requires role ${required.join(" or ")}`);
}

/**
 * Caller identity from the verified client certificate, cached per HTTP/2 session: the certificate
 * cannot change within a TLS session, and getPeerCertificate() per call is measurable on the hot path.
 * The session is reached through grpc-js internals (pinned 1.14); without it we fall back to the
 * public getAuthContext() per call.
 */
function createTlsCallerLookup(config: MeshConfig): (call: ServerSurfaceCall) => string | undefined {
  const bySession = new WeakMap<object, string | null>();
  const fromAuthContext = (call: ServerSurfaceCall) => {
    const ctx = call.getAuthContext();
    return ctx.transportSecurityType === "ssl" ? identityFromCertificate(ctx.sslPeerCertificate, config.trust) : undefined;
  };
  return (call) => {
    const session = sessionOf(call);
    if (session === undefined) return fromAuthContext(call);
    const hit = bySession.get(session);
    if (hit !== undefined) return hit ?? undefined;
    const id = fromAuthContext(call);
    bySession.set(session, id ?? null);
    return id;
  };
}

function sessionOf(call: ServerSurfaceCall): object | undefined {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let c: any = (call as any).call;
  for (let i = 0; i < 8 && c !== undefined && c !== null; i++) {
    if (c.stream?.session !== undefined) return c.stream.session as object;
    c = c.nextCall;
  }
  return undefined;
}
