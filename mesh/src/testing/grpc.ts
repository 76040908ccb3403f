// Raw grpc-js calls for tests: bytes in, status and bytes out, so tests can send what no typed client
// would (garbage, oversized messages, no certificate) and read the exact status and trailers.
import { Client, Metadata, credentials, type ChannelCredentials, type ServiceError } from "@grpc/grpc-js";
import type { TestMesh } from "./mesh.js";

/** Channel credentials for identity `name` of a test mesh (mTLS), or TLS without a client cert when name is undefined. */
export function testCredentials(mesh: TestMesh, name: string | undefined): ChannelCredentials {
  const ca = mesh.config("edge").tls!.ca;
  if (name === undefined) return credentials.createSsl(ca);
  const tls = mesh.config(name).tls!;
  return credentials.createSsl(ca, tls.key, tls.cert);
}

/** Outcome of a raw unary call. */
export interface RawResult {
  /** gRPC status code (0 = OK). */
  code: number;
  /** Status message. */
  details: string;
  /** Response bytes when OK. */
  response?: Buffer;
  /** Trailing metadata. */
  metadata?: Metadata;
}

const id = (b: Buffer) => b;

/** Makes one raw unary call of `path` with `body` and resolves with its status (never rejects). */
export function rawUnary(client: Client, path: string, body: Buffer, opts: { metadata?: Metadata; deadlineMs?: number } = {}): Promise<RawResult> {
  return new Promise((resolve) => {
    const deadline = Date.now() + (opts.deadlineMs ?? 5000);
    client.makeUnaryRequest(path, id, id, body, opts.metadata ?? new Metadata(), { deadline }, (err: ServiceError | null, res?: Buffer) => {
      if (err) resolve({ code: err.code, details: err.details, metadata: err.metadata });
      else resolve({ code: 0, details: "", response: res });
    });
  });
}

/**
 * Opens a raw grpc-js client to 127.0.0.1:port as identity `name` (undefined: no client
 * certificate), verifying that the server's certificate names `server` (dev certificates name
 * only their own identity).
 */
export function rawClient(mesh: TestMesh, port: number, name: string | undefined, server: string): Client {
  return new Client(`127.0.0.1:${port}`, testCredentials(mesh, name), { "grpc.max_send_message_length": -1,
    "grpc.max_receive_message_length": -1, "grpc.ssl_target_name_override": server });
}
