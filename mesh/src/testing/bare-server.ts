// A bare grpc-js server for the client's tests and the benchmark: it hosts plain async
// functions for any generated service, with none of serve()'s interceptors, so client-side
// behaviour (retries, breaker, deadlines) is observed against a real HTTP/2 server.
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type DescService, type MessageShape } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { Code, ConnectError } from "@connectrpc/connect";

/** What a bare handler sees of its call. */
export interface BareCall {
  /** Request metadata. */
  metadata: grpc.Metadata;
  /** The call's deadline as the server received it (Infinity when none). */
  deadline: grpc.Deadline;
  /** Fires when the client cancels or the deadline passes. */
  signal: AbortSignal;
}

/** A unary handler (returns the response) or a server-streaming one (an async iterable). */
export type BareHandler = (req: unknown, call: BareCall) => Promise<unknown> | AsyncIterable<unknown>;

/** A running bare server. */
export interface BareServer {
  /** The bound port on 127.0.0.1. */
  port: number;
  /** "127.0.0.1:<port>". */
  address: string;
  /** Stops the server at once. */
  close(): Promise<void>;
}

/** Builds the grpc-js service definition of a generated service (binary protobuf codec). */
export function grpcDefinitionOf(service: DescService): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const m of service.methods) {
    def[m.localName] = {
      path: `/${service.typeName}/${m.name}`,
      requestStream: m.methodKind === "client_streaming" || m.methodKind === "bidi_streaming",
      responseStream: m.methodKind === "server_streaming" || m.methodKind === "bidi_streaming",
      requestSerialize: (v: unknown) => Buffer.from(toBinary(m.input, v as MessageShape<DescMessage>)),
      requestDeserialize: (b: Buffer) => fromBinary(m.input, b),
      responseSerialize: (v: unknown) => Buffer.from(toBinary(m.output, create(m.output, v as MessageShape<DescMessage>))),
      responseDeserialize: (b: Buffer) => fromBinary(m.output, b),
    };
  }
  return def;
}

/**
 * A gRPC status for any thrown value: ConnectErrors keep their code and their details (as
 * google.rpc.Status in grpc-status-details-bin); anything else is Internal.
 */
export function toGrpcStatus(e: unknown): Partial<grpc.StatusObject> {
  const err = e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal);
  const metadata = new grpc.Metadata();
  if (err.details.length > 0) {
    // google.rpc.Status: code = 1, message = 2, details = 3 (google.protobuf.Any: type_url = 1, value = 2).
    const w = new BinaryWriter().uint32(8).int32(err.code).uint32(18).string(err.rawMessage);
    for (const d of err.details) {
      const [type, value] =
        "desc" in d ? [d.desc.typeName, toBinary(d.desc, create(d.desc, d.value))] : [d.type, d.value];
      w.uint32(26).fork().uint32(10).string(`type.googleapis.com/${type}`).uint32(18).bytes(value).join();
    }
    metadata.set("grpc-status-details-bin", Buffer.from(w.finish()));
  }
  return { code: err.code as number, details: err.rawMessage, metadata };
}

/**
 * Starts a bare grpc-js server on 127.0.0.1:0 hosting `handlers` (keyed by method localName) for
 * each service. Methods without a handler answer Unimplemented.
 */
export async function startBareServer(
  services: { service: DescService; handlers: Record<string, BareHandler> }[],
  credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure(),
): Promise<BareServer> {
  const server = new grpc.Server();
  for (const { service, handlers } of services) {
    const impl: grpc.UntypedServiceImplementation = {};
    for (const m of service.methods) {
      const h = handlers[m.localName];
      if (!h) continue;
      if (m.methodKind === "unary") {
        impl[m.localName] = (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
          const ac = new AbortController();
          call.on("cancelled", () => ac.abort());
          const bare = { metadata: call.metadata, deadline: call.getDeadline(), signal: ac.signal };
          (h(call.request, bare) as Promise<unknown>).then(
            (res) => cb(null, res),
            (e: unknown) => cb(toGrpcStatus(e)),
          );
        };
      } else if (m.methodKind === "server_streaming") {
        impl[m.localName] = async (call: grpc.ServerWritableStream<unknown, unknown>) => {
          const ac = new AbortController();
          call.on("cancelled", () => ac.abort());
          const bare = { metadata: call.metadata, deadline: call.getDeadline(), signal: ac.signal };
          try {
            for await (const msg of h(call.request, bare) as AsyncIterable<unknown>) {
              if (ac.signal.aborted) return;
              call.write(msg);
            }
            call.end();
          } catch (e) {
            call.emit("error", toGrpcStatus(e));
          }
        };
      }
    }
    server.addService(grpcDefinitionOf(service), impl);
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}
