// The inbound call, kept in AsyncLocalStorage while a handler runs, so outbound clients created
// anywhere (mesh-client) propagate its deadline, end-user token and trace context without plumbing.
import { AsyncLocalStorage } from "node:async_hooks";
import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { Span } from "@opentelemetry/api";

/** The authenticated end user of a call (from the verified JWT). */
export interface User {
  /** The JWT subject (user id). */
  id: string;
  /** Roles from the JWT `roles` claim. */
  roles: string[];
  /** The raw access token, forwarded to upstream services. */
  token: string;
}

/** What mesh knows about the inbound call being handled. */
export interface InboundCall {
  /** gRPC path, e.g. "/shop.catalog.v2.CatalogService/GetProduct". */
  path: string;
  /** Absolute deadline in epoch ms (always set: capped by limits.maxDeadlineMs). */
  deadline: number;
  /** Fires on client cancellation, deadline and forced shutdown. */
  signal: AbortSignal;
  /** The inbound `authorization` header, if any (forwarded upstream as is). */
  authorization: string | undefined;
  /** W3C trace id (32 hex) of this call. */
  traceId: string;
  /** This server span's id (16 hex): the parent of outbound calls. */
  spanId: string;
  /** W3C trace flags (2 hex). */
  traceFlags: string;
  /** The inbound `tracestate`, forwarded as is. */
  tracestate: string | undefined;
  /** The inbound `x-shop-canary` routing header (the catalog canary), forwarded as is so a call on
   * the canary path stays on it through every hop. */
  canary?: string;
  /** The end user, when a valid JWT came with the call. */
  user: User | undefined;
  /** The verified caller identity ("edge", a service name, or undefined when not checked). */
  caller: string | undefined;
  /** This call's SERVER span when tracing is on (tracing.ts): the parent of its outbound calls and store commands. */
  span?: Span;
}

const storage = new AsyncLocalStorage<InboundCall>();

/** Returns the inbound call being handled in this async context, if any. */
export function inboundCall(): InboundCall | undefined {
  return storage.getStore();
}

/** Runs `fn` with `call` as the current inbound call. */
export function runWithInboundCall<T>(call: InboundCall, fn: () => T): T {
  return storage.run(call, fn);
}

/** Context key under which serve() stores the end user in `ctx.values`. */
export const userKey = createContextKey<User | undefined>(undefined, { description: "mesh end user" });

/** Context key under which serve() stores the verified caller identity in `ctx.values`. */
export const callerKey = createContextKey<string | undefined>(undefined, { description: "mesh caller identity" });

/** The caller's end user (set by the JWT interceptor); undefined on public methods called without a token. */
export function currentUser(ctx: Pick<HandlerContext, "values">): User | undefined {
  return ctx.values.get(userKey);
}

/** The verified mTLS/sidecar identity of the calling workload ("edge", "order", ...). */
export function currentCaller(ctx: Pick<HandlerContext, "values">): string | undefined {
  return ctx.values.get(callerKey);
}
