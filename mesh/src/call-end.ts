// When an outbound call ends, for the client interceptors that record its outcome (metrics and
// tracing): a unary call when its answer or error comes back, a server stream after its last
// message or its error, not when its headers arrive.
import { Code, ConnectError, type StreamResponse, type UnaryResponse } from "@connectrpc/connect";

/** Runs `call` and gives `done` its code (0 for OK) and error once the call has ended. */
export async function afterCall<R extends UnaryResponse | StreamResponse>(
  call: () => Promise<R>,
  done: (code: Code | 0, err: ConnectError | undefined) => void,
): Promise<R> {
  let res: R;
  try {
    res = await call();
  } catch (e) {
    const err = ConnectError.from(e);
    done(err.code, err);
    throw e;
  }
  if (!res.stream) {
    done(0, undefined);
    return res;
  }
  const inner = res.message;
  return {
    ...res,
    message: (async function* () {
      try {
        yield* inner;
      } catch (e) {
        const err = ConnectError.from(e);
        done(err.code, err);
        throw e;
      }
      done(0, undefined);
    })(),
  };
}
