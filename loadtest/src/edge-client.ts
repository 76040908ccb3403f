// A small typed unary client over one grpc-js channel, for load generation. It speaks to the
// nginx edge (plaintext h2c) or straight to a service (mTLS with a dev certificate). It is not a
// mesh/ client on purpose: a load generator is an outside user, so it gets no retries, no breaker
// and no deadline propagation that would hide the mesh's own behaviour from the figures.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMessage, DescMethodUnary, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import grpc from "@grpc/grpc-js";

/** Client certificate material for a direct mTLS call to a service. */
export interface TlsFiles {
  /** PEM of the CA that signed the server's certificate. */
  ca: Buffer;
  /** PEM of this client's certificate. */
  cert: Buffer;
  /** PEM of this client's private key. */
  key: Buffer;
}

/** Options of createEdgeClient. */
export interface EdgeClientOptions {
  /** host:port, e.g. "127.0.0.1:8080". */
  address: string;
  /** mTLS material; plaintext when absent (the edge speaks h2c). */
  tls?: TlsFiles;
  /** Per-call deadline when the call names none. Default 10 s, so no call waits forever. */
  defaultTimeoutMs?: number;
  /** Own HTTP/2 connection instead of grpc-js's shared one per target, to spread load. */
  ownConnection?: boolean;
}

/** Per-call options. */
export interface CallOptions {
  /** Access JWT, sent as `authorization: Bearer <token>`. */
  token?: string;
  /** Deadline of this call. */
  timeoutMs?: number;
}

/** A failed call, with its gRPC status code name (e.g. "UNAVAILABLE"). */
export class CallError extends Error {
  /** gRPC status code name, upper snake case as in the gRPC spec. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = "CallError";
  }
}

/** A typed unary client over one HTTP/2 connection. */
export interface EdgeClient {
  /** Calls a unary method and resolves with its response, or rejects with a CallError. */
  call<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    request: MessageInitShape<I>,
    options?: CallOptions,
  ): Promise<MessageShape<O>>;
  /** Closes the channel. */
  close(): void;
}

/** Returns the gRPC status code name of a numeric code, e.g. 14 → "UNAVAILABLE". */
export function codeName(code: number): string {
  return grpc.status[code] ?? `CODE_${code}`;
}

/** Creates a typed unary client for the given address. */
export function createEdgeClient(opts: EdgeClientOptions): EdgeClient {
  const creds = opts.tls
    ? grpc.credentials.createSsl(opts.tls.ca, opts.tls.key, opts.tls.cert)
    : grpc.credentials.createInsecure();
  const client = new grpc.Client(
    opts.address,
    creds,
    opts.ownConnection ? { "grpc.use_local_subchannel_pool": 1 } : {},
  );
  const defaultTimeoutMs = opts.defaultTimeoutMs ?? 10_000;
  return {
    call(method, request, options = {}) {
      const path = `/${method.parent.typeName}/${method.name}`;
      const md = new grpc.Metadata();
      if (options.token) md.set("authorization", `Bearer ${options.token}`);
      const deadline = new Date(Date.now() + (options.timeoutMs ?? defaultTimeoutMs));
      const message = create(method.input, request);
      return new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          path,
          (m: typeof message) => Buffer.from(toBinary(method.input, m)),
          (b: Buffer) => fromBinary(method.output, b),
          message,
          md,
          { deadline },
          (err, res) => {
            if (err) reject(new CallError(codeName(err.code ?? grpc.status.UNKNOWN), err.details || err.message));
            else resolve(res as MessageShape<typeof method.output>);
          },
        );
      });
    },
    close() {
      client.close();
    },
  };
}
