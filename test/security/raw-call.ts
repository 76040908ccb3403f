// A raw (bytes in, status out) call of any RPC, unary or server streaming, so the security tests can
// send what no typed client would and read the exact status the server gave.
import { Metadata, status as grpcStatus, type Client, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { rawUnary } from "@shopmesh/mesh/testing";

/** Outcome of one raw call. */
export interface CallResult {
  /** gRPC status code; a stream that delivered a message counts as 0 (it is then cancelled on purpose). */
  code: number;
  /** Status message. */
  details: string;
  /** Response bytes (unary OK) or the first streamed message. */
  response?: Buffer;
  /** Trailers (for grpc-status-details-bin). */
  metadata?: Metadata;
}

const id = (b: Buffer) => b;

/** Metadata with a Bearer token (none when token is undefined). */
export function bearer(token: string | undefined): Metadata {
  const md = new Metadata();
  if (token !== undefined) md.set("authorization", `Bearer ${token}`);
  return md;
}

/** Calls `path` with `body`; `streaming` marks a server-streaming method (first message = success). */
export function rawCall(client: Client, path: string, body: Buffer, opts: { streaming?: boolean; token?: string; deadlineMs?: number } = {}): Promise<CallResult> {
  const metadata = bearer(opts.token);
  if (!opts.streaming) return rawUnary(client, path, body, { metadata, deadlineMs: opts.deadlineMs });
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: CallResult) => {
      if (!done) {
        done = true;
        resolve(r);
      }
    };
    const call: ClientReadableStream<Buffer> = client.makeServerStreamRequest(path, id, id, body, metadata,
      { deadline: Date.now() + (opts.deadlineMs ?? 5000) });
    call.on("data", (msg: Buffer) => {
      finish({ code: grpcStatus.OK, details: "", response: msg });
      call.cancel();
    });
    call.on("error", (err: ServiceError) => finish({ code: err.code, details: err.details, metadata: err.metadata }));
    call.on("status", (s) => finish({ code: s.code, details: s.details, metadata: s.metadata }));
  });
}

/** Name of a gRPC status code ("NOT_FOUND"). */
export function codeName(code: number): string {
  return grpcStatus[code] ?? `CODE_${code}`;
}
