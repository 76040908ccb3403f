import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";

/**
 * The absolute deadline of an outbound call (epoch ms), carried in the call's context values so
 * the retry interceptor and the grpc-js transport see the one deadline the whole call shares.
 */
export const deadlineKey = createContextKey<number | undefined>(undefined, {
  description: "mesh outbound deadline (epoch ms)",
});

/**
 * The call's own timeout in ms (its `timeoutMs`, else the client default), before the inbound
 * call's remainder capped it: the breaker compares the budget a call was sent with against it.
 */
export const ownTimeoutKey = createContextKey<number | undefined>(undefined, {
  description: "mesh outbound call's own timeout (ms)",
});

/** What the client needs to know about the inbound call it is made from (if any). */
export interface InboundCallInfo {
  /** Absolute deadline of the inbound call (epoch ms), if the caller set one. */
  deadline?: number;
  /** The end user's `authorization` header value, forwarded unless the call sets its own. */
  authorization?: string;
  /** W3C `traceparent` of the current span, forwarded unless the call sets its own. */
  traceparent?: string;
  /** W3C `tracestate`, forwarded along with traceparent. */
  tracestate?: string;
  /** The inbound `x-shop-canary` routing header, forwarded unless the call sets its own. */
  canary?: string;
}

/** Options of {@link createDeadlineInterceptor}. */
export interface DeadlineOptions {
  /** Deadline applied when neither the call nor the inbound call sets one, in ms (default 2000). */
  defaultTimeoutMs?: number;
  /** Returns the inbound call this outbound call is made from; undefined outside a handler. */
  inbound?: () => InboundCallInfo | undefined;
}

/**
 * Gives every outbound call a deadline: the earliest of the call's own timeout, the inbound
 * call's remaining deadline and the client default. Also forwards the end user's token and
 * the trace context of the inbound call. Records the call's own timeout (ownTimeoutKey).
 */
export function createDeadlineInterceptor(opts: DeadlineOptions = {}): Interceptor {
  const defaultTimeoutMs = opts.defaultTimeoutMs ?? 2000;
  const inboundOf = opts.inbound ?? (() => undefined);
  return (next) => async (req) => {
    const inbound = inboundOf();
    const now = Date.now();
    let deadline = req.contextValues.get(deadlineKey) ?? now + defaultTimeoutMs;
    req.contextValues.set(ownTimeoutKey, deadline - now);
    if (inbound?.deadline !== undefined && inbound.deadline < deadline) {
      deadline = inbound.deadline;
    }
    req.contextValues.set(deadlineKey, deadline);
    if (inbound) {
      // The call's own header wins: a service may act as itself rather than as the user.
      if (inbound.authorization && !req.header.has("authorization")) {
        req.header.set("authorization", inbound.authorization);
      }
      if (inbound.traceparent && !req.header.has("traceparent")) {
        req.header.set("traceparent", inbound.traceparent);
        if (inbound.tracestate) req.header.set("tracestate", inbound.tracestate);
      }
      if (inbound.canary && !req.header.has("x-shop-canary")) req.header.set("x-shop-canary", inbound.canary);
    }
    if (deadline <= now) {
      // Nothing is left of the caller's budget: failing here saves the upstream a wasted call.
      throw new ConnectError("deadline exceeded before the call was sent", Code.DeadlineExceeded);
    }
    // No local timer: grpc-js turns the deadline into grpc-timeout on the wire and ends the call
    // with DeadlineExceeded itself when it passes (a timer here cost a visible share of client CPU).
    return next(req);
  };
}

/** Milliseconds left until the call's deadline, or undefined when it has none. */
export function remainingMs(deadline: number | undefined, now = Date.now()): number | undefined {
  return deadline === undefined ? undefined : deadline - now;
}

/**
 * The ConnectError for an aborted call: a ConnectError reason (our deadline) as is, an AbortError
 * as Canceled, a TimeoutError (AbortSignal.timeout) as DeadlineExceeded. Names are compared,
 * not classes, because DOMException may come from another realm.
 */
export function abortReasonToError(reason: unknown): ConnectError {
  if (reason instanceof ConnectError) return reason;
  const name = (reason as { name?: unknown } | undefined)?.name;
  if (name === "TimeoutError") return new ConnectError("the operation timed out", Code.DeadlineExceeded);
  if (name === "AbortError" || reason === undefined) return new ConnectError("the operation was aborted", Code.Canceled);
  return ConnectError.from(reason, Code.Canceled);
}
