// The map at a service boundary: what a service answers when its call to another one failed
// (docs/architecture.md, "The error map"). The upstream's message, details and trailers are its
// own business, never its callers' callers': only the kind of failure crosses, in the words of
// the service that called, and business errors become the caller's own contract errors.
import { Code, ConnectError } from "@connectrpc/connect";
import { CIRCUIT_OPEN, MESH_DOMAIN } from "./breaker.js";
import { reasonOf } from "./errors.js";

/** Turns an upstream's business error into the caller's own contract error; undefined for any it does not expect. */
export type BusinessErrorMap = (err: ConnectError) => Error | undefined;

/** An upstream failed in a way the caller cannot act on; toConnectError answers Internal and logs it with its cause. */
class UpstreamFailure extends Error {
  override readonly name = "UpstreamFailure";
}

/**
 * The error to throw when a call to `target` failed with `err`. `business` translates the business
 * errors the caller expects; every other answer keeps only its kind:
 * - Unavailable, ResourceExhausted (the upstream sheds load): Unavailable, "<target> is unavailable";
 * - DeadlineExceeded: DeadlineExceeded, "<target> did not answer in time"; Canceled stays Canceled;
 * - Unauthenticated (the end user's token, forwarded, was refused): Unauthenticated;
 * - anything else (Internal, Unknown, or a business error the caller did not expect, which is a
 *   bug on one side): Internal, "internal error" to the client, the upstream's answer to the log.
 * A thrown value that is not a ConnectError did not come from the call; it is returned as it is.
 */
export function upstreamError(target: string, err: unknown, business?: BusinessErrorMap): unknown {
  if (!(err instanceof ConnectError)) return err;
  const mapped = business?.(err);
  if (mapped !== undefined) return mapped;
  const own = (message: string, code: Code) => new ConnectError(message, code, undefined, undefined, err);
  switch (err.code) {
    case Code.Unavailable:
    case Code.ResourceExhausted: {
      // Our own breaker refused the call: say so, it explains the fast answer.
      const r = reasonOf(err);
      return own(`${target} is unavailable${r?.domain === MESH_DOMAIN && r.reason === CIRCUIT_OPEN ? " (circuit open)" : ""}`, Code.Unavailable);
    }
    case Code.DeadlineExceeded:
      return own(`${target} did not answer in time`, Code.DeadlineExceeded);
    case Code.Canceled:
      return own("the call was canceled", Code.Canceled);
    case Code.Unauthenticated:
      return own(`${target} refused the access token`, Code.Unauthenticated);
    default:
      return new UpstreamFailure(`${target} failed (${Code[err.code]})`, { cause: err });
  }
}
