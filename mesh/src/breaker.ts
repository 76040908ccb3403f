// One circuit breaker per upstream: what counts as a failure, and why not opossum's own rate
// (docs/architecture.md, "Retries and breakers").
import CircuitBreaker from "opossum";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { ErrorInfoSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";

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
  /** Called on every state change (for the state gauge). */
  onStateChange?: (target: string, state: BreakerState) => void;
}

/** A circuit breaker for one upstream target. */
export interface Breaker {
  /** The upstream it guards. */
  readonly target: string;
  /** Runs `fn` through the breaker; an open breaker rejects at once with Unavailable. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** The current state. */
  state(): BreakerState;
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

// Marks an answer that was a business error, so it passes opossum as a resolved value.
const business = Symbol("business error");
interface BusinessOutcome {
  [business]: unknown;
}

/**
 * Creates the breaker of one upstream.
 *
 * opossum runs the state machine (open, the reset timer, half-open with a single probe, close)
 * but not the decision to open. Its own rate is failures / fires, and every call is a fire:
 * its `errorFilter` also emits "success". Either way business errors (NotFound,
 * InvalidArgument, ...) dilute the rate, so a storm of them hides a real outage.
 * Here business errors resolve through opossum as a marked value and are counted nowhere;
 * our own rolling window counts only successes and trip errors and calls `open()`.
 * opossum's threshold is set to 100%, which its `>` test can never exceed, so only a failed
 * half-open probe makes it open by itself. A business error answering the half-open probe
 * closes the breaker: the upstream answered with a well-formed status, so it is reachable.
 */
export function createBreaker(target: string, opts: BreakerOptions = {}): Breaker {
  const threshold = opts.errorThresholdPercentage ?? 50;
  const volumeThreshold = opts.volumeThreshold ?? 10;
  const windowMs = opts.rollingWindowMs ?? 10_000;
  const bucketCount = opts.buckets ?? 10;
  const bucketMs = Math.max(1, Math.floor(windowMs / bucketCount));
  // Ring of buckets, each tagged with the bucket number it holds; stale ones count as empty.
  const epochs = new Array<number>(bucketCount).fill(-1);
  const calls = new Array<number>(bucketCount).fill(0);
  const failures = new Array<number>(bucketCount).fill(0);

  const cb = new CircuitBreaker((fn: () => Promise<unknown>) => fn(), {
    name: target,
    timeout: false, // deadlines already bound every call
    errorThresholdPercentage: 100,
    resetTimeout: opts.resetTimeoutMs ?? 5000,
    rollingCountTimeout: windowMs,
    rollingCountBuckets: bucketCount,
    rollingPercentilesEnabled: false, // avoids a latency array per call
    enableSnapshots: false,
  });

  let state: BreakerState = "closed";
  const setState = (s: BreakerState) => {
    state = s;
    opts.onStateChange?.(target, s);
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

  const action = (fn: () => Promise<unknown>): Promise<unknown> =>
    fn().catch((e: unknown) => {
      if (isTripCode(ConnectError.from(e).code)) throw e;
      return { [business]: e } satisfies BusinessOutcome;
    });

  return {
    target,
    async run<T>(fn: () => Promise<T>): Promise<T> {
      let out: unknown;
      try {
        out = await cb.fire(() => action(fn));
      } catch (e) {
        if ((e as { code?: unknown }).code === "EOPENBREAKER") {
          // The reason tells a caller that nothing was sent (a saga may treat it as "unsent").
          throw new ConnectError(`circuit open for ${target}`, Code.Unavailable, undefined, [
            { desc: ErrorInfoSchema, value: { reason: CIRCUIT_OPEN, domain: MESH_DOMAIN, metadata: { target } } },
          ]);
        }
        if (cb.closed) {
          record(true);
          const w = window();
          if (w.calls >= volumeThreshold && (w.failures / w.calls) * 100 >= threshold) cb.open();
        }
        throw e;
      }
      if (typeof out === "object" && out !== null && business in out) {
        throw (out as BusinessOutcome)[business];
      }
      if (cb.closed) record(false);
      return out as T;
    },
    state: () => state,
    window,
    shutdown: () => cb.shutdown(),
  };
}

/** Runs every call of a client through `breaker` (a stream counts once, when it starts). */
export function createBreakerInterceptor(breaker: Breaker): Interceptor {
  return (next) => (req) => breaker.run(() => next(req));
}
