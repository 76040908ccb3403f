// One circuit breaker per upstream, or per endpoint of an upstream with several: what counts as a
// failure, and why not opossum's own rate (docs/architecture.md, "Retries and breakers").
import CircuitBreaker from "opossum";
import { Code, ConnectError, type ContextValues, type Interceptor } from "@connectrpc/connect";
import { ErrorInfoSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";
import { deadlineKey, ownTimeoutKey } from "./deadline.js";
import { endpointKey } from "./transport.js";

/** The ErrorInfo domain of errors the mesh itself raises. */
export const MESH_DOMAIN = "mesh.shop.local";
/** ErrorInfo reason of a call an open breaker refused: it was never sent. */
export const CIRCUIT_OPEN = "CIRCUIT_OPEN";

/** Breaker states, in the order of the `shop_breaker_state` gauge (0, 1, 2). */
export type BreakerState = "closed" | "halfOpen" | "open";

/** Options of {@link createBreaker}. */
export interface BreakerOptions {
  /** Opens when failures are at least this share (in %) of counted calls in the window (default 50). */
  errorThresholdPercentage?: number;
  /** Counted calls (business errors excluded) needed in the window before it may open (default 10). */
  volumeThreshold?: number;
  /** Length of the rolling window, in ms (default 10000). */
  rollingWindowMs?: number;
  /** Buckets of the rolling window (default 10). */
  buckets?: number;
  /** Time open before one probe call is let through (half-open), in ms (default 5000). */
  resetTimeoutMs?: number;
  /**
   * A DeadlineExceeded counts as a failure only when the call was sent with at least the smaller
   * of its own timeout and this many ms left; with less, its caller spent the budget (default 250).
   */
  deadlineFloorMs?: number;
  /** The one address this breaker guards, when the target has several (named in its errors). */
  endpoint?: string;
  /** Called on every state change (for the state gauge). */
  onStateChange?: (target: string, state: BreakerState, endpoint?: string) => void;
}

/** A circuit breaker for one upstream target. */
export interface Breaker {
  /** The upstream it guards. */
  readonly target: string;
  /** The address it guards, when it is one of the target's several. */
  readonly endpoint: string | undefined;
  /**
   * Runs `fn` through the breaker; an open breaker (or a half-open one whose probe is in flight)
   * rejects at once with Unavailable. `budget` is what the call was sent with (see createBreaker).
   */
  run<T>(fn: () => Promise<T>, budget?: CallBudget): Promise<T>;
  /** The current state. */
  state(): BreakerState;
  /** True when a call would be let through now: closed, or half-open with no probe in flight. */
  admits(): boolean;
  /** Counted calls and failures in the current window (business errors are in neither). */
  window(): { calls: number; failures: number };
  /** Stops the breaker's timers. */
  shutdown(): void;
}

// Codes that say the upstream (or the path to it) is unhealthy.
const tripCodes = new Set<Code>([
  Code.Unavailable,
  Code.DeadlineExceeded,
  Code.ResourceExhausted,
  Code.Internal,
  Code.Unknown,
]);

/** True when an error with this code counts as a failure of the upstream. */
export function isTripCode(code: Code): boolean {
  return tripCodes.has(code);
}

/**
 * The budget a call was sent with, which decides whether its DeadlineExceeded counts:
 * `leftMs` until its deadline when it reached the breaker, `ownMs` its own timeout (the
 * caller's `timeoutMs` or the client default, before an inbound deadline capped it).
 */
export interface CallBudget {
  leftMs: number;
  ownMs?: number;
}

/**
 * Creates the breaker of one upstream.
 *
 * opossum runs the state machine (open, the reset timer, half-open, close) but neither the
 * decision to open nor the half-open gate. Its own rate is failures / fires, and every call is a
 * fire: its `errorFilter` also emits "success". Either way business errors (NotFound,
 * InvalidArgument, ...) dilute the rate, so a storm of them hides a real outage. And each of its
 * fires ends in success or failure, while a call may say nothing about the upstream at all.
 * So calls do not go through `fire()`: our own rolling window counts only successes and trip
 * errors and calls `open()`, and our own gate lets one probe through while half-open.
 *
 * What a call's outcome says about the upstream:
 * - success: it answered; a trip code (Unavailable, DeadlineExceeded, ...): failure;
 * - a business error: neither in the window, but it ends a half-open probe as a success (the
 *   upstream answered with a well-formed status, so it is reachable);
 * - DeadlineExceeded of a call sent with less than min(its own timeout, `deadlineFloorMs`) left:
 *   nothing at all. Its caller spent the budget (an inbound deadline nearly gone), so the upstream
 *   was not given a fair chance; a healthy upstream behind a late caller must not be opened. As a
 *   half-open probe it frees the probe slot: the breaker stays half-open and the next call probes.
 */
export function createBreaker(target: string, opts: BreakerOptions = {}): Breaker {
  const threshold = opts.errorThresholdPercentage ?? 50;
  const volumeThreshold = opts.volumeThreshold ?? 10;
  const deadlineFloorMs = opts.deadlineFloorMs ?? 250;
  const windowMs = opts.rollingWindowMs ?? 10_000;
  const bucketCount = opts.buckets ?? 10;
  const bucketMs = Math.max(1, Math.floor(windowMs / bucketCount));
  // Ring of buckets, each tagged with the bucket number it holds; stale ones count as empty.
  const epochs = new Array<number>(bucketCount).fill(-1);
  const calls = new Array<number>(bucketCount).fill(0);
  const failures = new Array<number>(bucketCount).fill(0);

  const cb = new CircuitBreaker(() => Promise.resolve(), {
    name: target,
    timeout: false, // deadlines already bound every call
    resetTimeout: opts.resetTimeoutMs ?? 5000,
    rollingPercentilesEnabled: false, // avoids a latency array per call
    enableSnapshots: false,
  });

  let state: BreakerState = "closed";
  let probing = false; // the half-open probe is in flight
  const setState = (s: BreakerState) => {
    state = s;
    opts.onStateChange?.(target, s, opts.endpoint);
  };
  cb.on("open", () => setState("open"));
  cb.on("halfOpen", () => setState("halfOpen"));
  cb.on("close", () => {
    // A recovered upstream starts with a clean window, or old failures would reopen it.
    epochs.fill(-1);
    setState("closed");
  });

  function record(failed: boolean) {
    const n = Math.floor(Date.now() / bucketMs);
    const i = n % bucketCount;
    if (epochs[i] !== n) {
      epochs[i] = n;
      calls[i] = 0;
      failures[i] = 0;
    }
    calls[i]!++;
    if (failed) failures[i]!++;
  }

  function window() {
    const oldest = Math.floor(Date.now() / bucketMs) - bucketCount;
    let c = 0;
    let f = 0;
    for (let i = 0; i < bucketCount; i++) {
      if (epochs[i]! > oldest) {
        c += calls[i]!;
        f += failures[i]!;
      }
    }
    return { calls: c, failures: f };
  }

  // What an error says: "failure", "business" (the upstream answered), or "unjudged" (nothing).
  function verdictOf(e: unknown, budget: CallBudget | undefined): "failure" | "business" | "unjudged" {
    const code = ConnectError.from(e).code;
    if (code === Code.DeadlineExceeded && budget !== undefined &&
        budget.leftMs < Math.min(budget.ownMs ?? deadlineFloorMs, deadlineFloorMs)) return "unjudged";
    return isTripCode(code) ? "failure" : "business";
  }

  return {
    target,
    endpoint: opts.endpoint,
    async run<T>(fn: () => Promise<T>, budget?: CallBudget): Promise<T> {
      const probe = !cb.closed;
      if (probe) {
        // Open, or half-open with its one probe already in flight: nothing is sent.
        if (!cb.halfOpen || probing) throw circuitOpenError(target, opts.endpoint);
        probing = true;
      }
      let out: T;
      try {
        out = await fn();
      } catch (e) {
        const verdict = verdictOf(e, budget);
        if (probe) {
          probing = false;
          if (verdict === "failure") cb.open();
          else if (verdict === "business") cb.close();
        } else if (verdict === "failure" && cb.closed) {
          record(true);
          const w = window();
          if (w.calls >= volumeThreshold && (w.failures / w.calls) * 100 >= threshold) cb.open();
        }
        throw e;
      }
      if (probe) {
        probing = false;
        cb.close();
      } else if (cb.closed) {
        record(false);
      }
      return out;
    },
    state: () => state,
    admits: () => cb.closed || (cb.halfOpen && !probing),
    window,
    shutdown: () => cb.shutdown(),
  };
}

/**
 * The error of a call a breaker refused (Unavailable, ErrorInfo CIRCUIT_OPEN): it was never sent.
 * Without `endpoint` for a target of several endpoints, every one of them refused it.
 */
function circuitOpenError(target: string, endpoint?: string): ConnectError {
  // The reason tells a caller that nothing was sent (a saga may treat it as "unsent").
  const metadata: Record<string, string> = endpoint === undefined ? { target } : { target, endpoint };
  return new ConnectError(`circuit open for ${target}${endpoint === undefined ? "" : ` at ${endpoint}`}`, Code.Unavailable, undefined, [
    { desc: ErrorInfoSchema, value: { reason: CIRCUIT_OPEN, domain: MESH_DOMAIN, metadata } },
  ]);
}

/** True when `err` is a breaker's refusal (nothing was sent, so there is nothing to retry). */
export function isCircuitOpen(err: ConnectError): boolean {
  return err.findDetails(ErrorInfoSchema).some((i) => i.reason === CIRCUIT_OPEN && i.domain === MESH_DOMAIN);
}

/** The budget `req` is sent with, from the deadline interceptor's context values (none without a deadline). */
export function budgetOf(req: { contextValues: ContextValues }): CallBudget | undefined {
  const deadline = req.contextValues.get(deadlineKey);
  return deadline === undefined ? undefined : { leftMs: deadline - Date.now(), ownMs: req.contextValues.get(ownTimeoutKey) };
}

/**
 * Runs every attempt on one of a target's endpoints (one channel each), through that endpoint's
 * breaker: round robin over the endpoints whose breaker admits a call, passing over one whose
 * channel is `down` (failing to connect) while another is not. It sits inside the retry, so a
 * retry goes to the next endpoint and each breaker counts the attempts its endpoint got. When
 * every breaker refuses, the call fails at once (CIRCUIT_OPEN without an endpoint), nothing sent.
 */
export function createEndpointInterceptor(breakers: Breaker[], down: (endpoint: number) => boolean): Interceptor {
  let cursor = 0;
  const pick = (): number | undefined => {
    let fallback: number | undefined;
    for (let k = 0; k < breakers.length; k++) {
      const i = (cursor + k) % breakers.length;
      if (!breakers[i]!.admits()) continue;
      if (!down(i)) {
        cursor = i + 1;
        return i;
      }
      fallback ??= i;
    }
    if (fallback !== undefined) cursor = fallback + 1;
    return fallback;
  };
  return (next) => (req) => {
    const i = pick();
    if (i === undefined) return Promise.reject(circuitOpenError(breakers[0]!.target));
    req.contextValues.set(endpointKey, i);
    return breakers[i]!.run(() => next(req), budgetOf(req));
  };
}

/** Runs every call of a client through `breaker` (a stream counts once, when it starts). */
export function createBreakerInterceptor(breaker: Breaker): Interceptor {
  return (next) => (req) => breaker.run(() => next(req), budgetOf(req));
}
