// Client retries: which calls, when, and how many (docs/architecture.md, "Retries and breakers").
import { MethodOptions_IdempotencyLevel as Idempotency } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type Interceptor, type UnaryRequest } from "@connectrpc/connect";
import { isCircuitOpen } from "./breaker.js";
import { abortReasonToError, deadlineKey } from "./deadline.js";
import { sleep } from "./sleep.js";

/** Options of {@link createRetryInterceptor}. */
export interface RetryOptions {
  /** Attempts per call, the first one included (default 3). */
  maxAttempts?: number;
  /** Backoff cap before the first retry, in ms; later caps double (default 20). */
  initialBackoffMs?: number;
  /** Largest backoff cap, in ms (default 500). */
  maxBackoffMs?: number;
  /** The retry budget: retries may be at most this share of calls (default 0.2). */
  budgetRatio?: number;
  /** Retries allowed before any call has paid into the budget, and the budget's cap (default 10). */
  budgetBurst?: number;
  /** An attempt is not started with less than this many ms left before the deadline (default 5). */
  minAttemptMs?: number;
  /** Called for every retry that is made (for metrics). */
  onRetry?: (req: UnaryRequest, attempt: number, err: ConnectError) => void;
  /** Source of jitter in [0, 1) (tests pin it). */
  random?: () => number;
}

/** A token bucket that lets retries be at most `ratio` of calls, plus a small burst. */
export interface RetryBudget {
  /** Records a call: pays `ratio` of a token into the bucket. */
  deposit(): void;
  /** Takes one token for a retry; false when the budget is spent. */
  withdraw(): boolean;
  /** Tokens currently available. */
  readonly tokens: number;
}

/** Creates the retry budget of one client. */
export function createRetryBudget(ratio: number, burst: number): RetryBudget {
  let tokens = burst;
  return {
    deposit() {
      tokens = Math.min(burst, tokens + ratio);
    },
    withdraw() {
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
    get tokens() {
      return tokens;
    },
  };
}

/** True when the method's descriptor says a repeat is safe (NO_SIDE_EFFECTS or IDEMPOTENT). */
export function isRetrySafe(method: { idempotency: Idempotency }): boolean {
  return (
    method.idempotency === Idempotency.NO_SIDE_EFFECTS ||
    method.idempotency === Idempotency.IDEMPOTENT
  );
}

/**
 * Retries a failed unary call when, and only when, all of these hold:
 * - the method is NO_SIDE_EFFECTS or IDEMPOTENT (the contract is the only judge of safety);
 * - the error is Unavailable. ResourceExhausted is NOT retried: it is the upstream's load
 *   shedding (or an oversized message), and retrying an overloaded server feeds the overload;
 *   the breaker reacts to it instead. Nor is a breaker's refusal (CIRCUIT_OPEN): nothing was
 *   sent, and a breaker stays open for seconds (per-endpoint breakers sit inside the retry,
 *   and refuse a call only when every endpoint's is open);
 * - the retry budget has a token (retries stay below `budgetRatio` of calls: no retry storms);
 * - the jittered backoff plus a minimal attempt still fits before the call's deadline.
 * Server streams are not retried: their request iterable can be read only once.
 */
export function createRetryInterceptor(opts: RetryOptions = {}): Interceptor {
  const maxAttempts = opts.maxAttempts ?? 3;
  const initialBackoffMs = opts.initialBackoffMs ?? 20;
  const maxBackoffMs = opts.maxBackoffMs ?? 500;
  const minAttemptMs = opts.minAttemptMs ?? 5;
  const random = opts.random ?? Math.random;
  const budget = createRetryBudget(opts.budgetRatio ?? 0.2, opts.budgetBurst ?? 10);
  return (next) => async (req) => {
    if (req.stream || !isRetrySafe(req.method)) return next(req);
    budget.deposit();
    for (let attempt = 1; ; attempt++) {
      try {
        return await next(req);
      } catch (e) {
        const err = ConnectError.from(e);
        if (err.code !== Code.Unavailable || isCircuitOpen(err) || attempt >= maxAttempts || req.signal.aborted) {
          throw err;
        }
        // Full jitter spreads the retries of many callers that failed together.
        const cap = Math.min(maxBackoffMs, initialBackoffMs * 2 ** (attempt - 1));
        const sleepMs = Math.floor(random() * cap);
        const deadline = req.contextValues.get(deadlineKey);
        if (deadline !== undefined && Date.now() + sleepMs + minAttemptMs >= deadline) throw err;
        if (!budget.withdraw()) throw err;
        opts.onRetry?.(req, attempt, err);
        await sleep(sleepMs, req.signal).catch((reason: unknown) => { throw abortReasonToError(reason); });
      }
    }
  };
}
