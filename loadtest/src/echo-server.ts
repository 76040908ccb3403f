// A bare grpc-js server that answers one method with fixed response bytes: no mesh, no auth, no
// database. It is the floor the benchmarks compare a real service against (service_vs_echo_ratio),
// so it must do as little as a gRPC server can: no decoding of the request, a precomputed answer.
import grpc from "@grpc/grpc-js";

/** Options of startEchoServer. */
export interface EchoServerOptions {
  /** Method path served, e.g. "/shop.catalog.v2.CatalogService/GetProduct". */
  path: string;
  /** Serialized response message returned to every call. */
  response: Uint8Array;
  /** Port; 0 picks a free one. */
  port?: number;
}

/** A running echo server. */
export interface EchoServer {
  /** The bound port on 127.0.0.1. */
  port: number;
  /** Stops the server, cancelling calls in flight. */
  close(): Promise<void>;
}

/** Starts the echo server on 127.0.0.1 (plaintext, like the edge's client side). */
export async function startEchoServer(opts: EchoServerOptions): Promise<EchoServer> {
  const server = new grpc.Server();
  const reply = Buffer.from(opts.response);
  server.register<Buffer, Buffer>(
    opts.path,
    (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, reply),
    (b: Buffer) => b,
    (b: Buffer) => b,
    "unary",
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${opts.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}
