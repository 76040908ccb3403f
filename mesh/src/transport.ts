import * as grpc from "@grpc/grpc-js";
import {
  create,
  fromBinary,
  isMessage,
  toBinary,
  type DescMessage,
  type DescMethodStreaming,
  type DescMethodUnary,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextKey,
  createContextValues,
  type ContextValues,
  type Interceptor,
  type StreamRequest,
  type StreamResponse,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { runStreamingCall } from "@connectrpc/connect/protocol";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { abortReasonToError, deadlineKey } from "./deadline.js";

/** Options of {@link createGrpcJsTransport}. */
export interface GrpcJsTransportOptions {
  /** The upstream address, "host:port". */
  address: string;
  /** Channel credentials: mTLS in local mode, insecure (h2c) behind an Istio sidecar. */
  credentials: grpc.ChannelCredentials;
  /** Interceptors, outermost first (connect's order). */
  interceptors?: Interceptor[];
  /** Largest response message accepted, in bytes (default 4 MiB, grpc's default). */
  maxReceiveMessageBytes?: number;
  /** Extra grpc-js channel options (they override the defaults). */
  channelOptions?: grpc.ChannelOptions;
  /**
   * grpc-js targets of one channel each, instead of one channel to `address`: a call goes to
   * the one at its `endpointKey` index (an interceptor picks it; the first when unset).
   */
  endpoints?: string[];
}

/** A connect Transport over grpc-js channels. */
export type GrpcJsTransport = Transport & {
  /** Closes the channels. */
  close(): void;
  /** The connectivity state of the channel at this index of `endpoints` (0 without them). */
  connectivity(endpoint: number): grpc.connectivityState;
};

/** Context value: the index in `endpoints` of the channel this call goes to. */
export const endpointKey = createContextKey<number>(0, { description: "mesh endpoint index" });

/** Channel defaults: keepalive finds dead connections without tripping the server's ping policing. */
export const defaultChannelOptions: grpc.ChannelOptions = {
  "grpc.keepalive_time_ms": 60_000,
  "grpc.keepalive_timeout_ms": 20_000,
  "grpc.keepalive_permit_without_calls": 0,
  "grpc.max_receive_message_length": 4 * 1024 * 1024,
  "grpc.max_send_message_length": 4 * 1024 * 1024,
  // A restarted upstream is back within a second or two; grpc-js's default backoff (1 s growing
  // to 120 s) kept a channel away from it for seconds after, so a breaker's half-open probe
  // failed and waited another full reset. Reconnect quickly and often instead.
  "grpc.initial_reconnect_backoff_ms": 200,
  "grpc.max_reconnect_backoff_ms": 1000,
};

// Headers grpc-js writes itself, or that make no sense as gRPC metadata.
const reservedHeaders = new Set([
  "content-type", "te", "user-agent", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding",
  "content-length", "host", "connection",
]);

/**
 * A connect `Transport` over a grpc-js `Client` (one HTTP/2 channel, or one per endpoint), so connect's typed
 * clients and interceptors run on the gRPC stack the servers use. Supports unary and server
 * streaming calls; client and bidi streams are not needed by any contract and are refused.
 */
export function createGrpcJsTransport(opts: GrpcJsTransportOptions): GrpcJsTransport {
  const channelOptions = {
    ...defaultChannelOptions,
    ...(opts.maxReceiveMessageBytes ? { "grpc.max_receive_message_length": opts.maxReceiveMessageBytes } : {}),
    ...opts.channelOptions,
  };
  const clients = (opts.endpoints ?? [opts.address]).map((t) => new grpc.Client(t, opts.credentials, channelOptions));
  const clientOf = (values: ContextValues) => clients[values.get(endpointKey)] ?? clients[0]!;
  const interceptors = opts.interceptors ?? [];
  // Unary calls skip connect's runUnaryCall: it makes two AbortControllers, a timer and (on
  // success) a DOMException per call, which the profile showed as a visible share of client CPU.
  // The deadline travels in the context values and grpc-js enforces it; the caller's signal
  // cancels the call. The interceptor chain is composed once, not per call.
  const unaryChain = interceptors.reduceRight<(req: UnaryRequest) => Promise<UnaryResponse>>(
    (next, interceptor) => interceptor(next as never) as never,
    (req) => callUnary(clientOf(req.contextValues), codecOf(req.method), req),
  );
  // Serializers are made once per method, not per call.
  const codecs = new WeakMap<object, { ser: (m: unknown) => Buffer; de: (b: Buffer) => unknown; path: string }>();
  const codecOf = (method: DescMethodUnary | DescMethodStreaming) => {
    let c = codecs.get(method);
    if (!c) {
      const input = method.input;
      const output = method.output;
      c = {
        path: `/${method.parent.typeName}/${method.name}`,
        ser: (m) => {
          const u = toBinary(input, m as MessageShape<DescMessage>);
          return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
        },
        de: (b) => fromBinary(output, b),
      };
      codecs.set(method, c);
    }
    return c;
  };

  return {
    async unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: ConstructorParameters<typeof Headers>[0] | undefined,
      input: MessageInitShape<I>,
      contextValues?: ContextValues,
    ): Promise<UnaryResponse<I, O>> {
      const values = contextValues ?? createContextValues();
      if (timeoutMs !== undefined) values.set(deadlineKey, Date.now() + timeoutMs);
      const req: UnaryRequest<I, O> = {
        stream: false,
        service: method.parent,
        method,
        requestMethod: "POST",
        url: `${opts.address}/${method.parent.typeName}/${method.name}`,
        signal: signal ?? neverAborted,
        header: new Headers(header),
        contextValues: values,
        message: isMessage(input, method.input) ? input : create(method.input, input),
      };
      return (unaryChain(req as unknown as UnaryRequest) as Promise<UnaryResponse<I, O>>).catch(
        (e: unknown) => Promise.reject(ConnectError.from(e)),
      );
    },

    async stream<I extends DescMessage, O extends DescMessage>(
      method: DescMethodStreaming<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: ConstructorParameters<typeof Headers>[0] | undefined,
      input: AsyncIterable<MessageInitShape<I>>,
      contextValues?: ContextValues,
    ): Promise<StreamResponse<I, O>> {
      if (method.methodKind !== "server_streaming") {
        throw new ConnectError(`${method.methodKind} calls are not supported`, Code.Unimplemented);
      }
      const values = contextValues ?? createContextValues();
      if (timeoutMs !== undefined) values.set(deadlineKey, Date.now() + timeoutMs);
      return runStreamingCall<I, O>({
        interceptors,
        signal,
        timeoutMs,
        req: {
          stream: true,
          service: method.parent,
          method,
          requestMethod: "POST",
          url: `${opts.address}/${method.parent.typeName}/${method.name}`,
          header: new Headers(header),
          contextValues: values,
          message: input,
        },
        next: (req: StreamRequest<I, O>) => callServerStream(clientOf(req.contextValues), codecOf(method), req),
      });
    },

    close() {
      for (const c of clients) c.close();
    },

    connectivity(endpoint) {
      return clients[endpoint]!.getChannel().getConnectivityState(false);
    },
  };
}

// The signal of calls made without one: never aborts, and costs nothing per call.
const neverAborted = new AbortController().signal;

type Codec = { ser: (m: unknown) => Buffer; de: (b: Buffer) => unknown; path: string };

function callOptions(values: ContextValues): grpc.CallOptions {
  const deadline = values.get(deadlineKey);
  return deadline === undefined ? {} : { deadline };
}

function callUnary<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  codec: Codec,
  req: UnaryRequest<I, O>,
): Promise<UnaryResponse<I, O>> {
  return new Promise((resolve, reject) => {
    if (req.signal.aborted) {
      reject(abortReasonToError(req.signal.reason));
      return;
    }
    let value: unknown;
    let responseHeader: grpc.Metadata | undefined;
    const call = client.makeUnaryRequest(
      codec.path,
      codec.ser,
      codec.de,
      req.message,
      toMetadata(req.header),
      callOptions(req.contextValues),
      (_err, v) => {
        value = v;
      },
    );
    const cancellable = req.signal !== neverAborted;
    const onAbort = () => call.cancel();
    if (cancellable) req.signal.addEventListener("abort", onAbort, { once: true });
    call.on("metadata", (md: grpc.Metadata) => {
      responseHeader = md;
    });
    // "status" follows the callback, so the trailers are known when the promise settles.
    call.on("status", (status: grpc.StatusObject) => {
      if (cancellable) req.signal.removeEventListener("abort", onAbort);
      if (status.code === grpc.status.OK) {
        // Headers are built only when read: most callers never look, and they cost allocations.
        let header: Headers | undefined;
        let trailer: Headers | undefined;
        resolve({
          stream: false,
          service: req.service,
          method: req.method,
          get header() {
            return (header ??= fromMetadata(responseHeader));
          },
          get trailer() {
            return (trailer ??= fromMetadata(status.metadata));
          },
          message: value as MessageShape<O>,
        });
      } else if (req.signal.aborted) {
        // Our own cancel: the signal's reason (deadline or the caller's abort) is the truth.
        reject(abortReasonToError(req.signal.reason));
      } else {
        reject(statusToError(status));
      }
    });
  });
}

function callServerStream<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  codec: Codec,
  req: StreamRequest<I, O>,
): Promise<StreamResponse<I, O>> {
  return (async () => {
    // A server stream has exactly one request message.
    let first: unknown;
    for await (const m of req.message) {
      first = m;
      break;
    }
    if (first === undefined) throw new ConnectError("missing request message", Code.Internal);
    if (req.signal.aborted) throw abortReasonToError(req.signal.reason);
    const call = client.makeServerStreamRequest(
      codec.path, codec.ser, codec.de, first, toMetadata(req.header), callOptions(req.contextValues),
    );
    const onAbort = () => call.cancel();
    req.signal.addEventListener("abort", onAbort, { once: true });
    const trailer = new Headers();
    let finalStatus: grpc.StatusObject | undefined;
    call.on("status", (s: grpc.StatusObject) => {
      finalStatus = s;
      fromMetadata(s.metadata).forEach((v, k) => trailer.set(k, v));
    });
    // Wait for the response headers, or for an early error (a trailers-only response).
    const header = await new Promise<Headers>((resolve, reject) => {
      const onMeta = (md: grpc.Metadata) => {
        call.off("error", onError);
        resolve(fromMetadata(md));
      };
      const onError = (e: grpc.ServiceError) => {
        call.off("metadata", onMeta);
        req.signal.removeEventListener("abort", onAbort);
        reject(req.signal.aborted ? abortReasonToError(req.signal.reason) : statusToError(e));
      };
      call.once("metadata", onMeta);
      call.once("error", onError);
    });
    const message = (async function* () {
      try {
        for await (const m of call as AsyncIterable<MessageShape<O>>) yield m;
      } catch (e) {
        if (req.signal.aborted) throw abortReasonToError(req.signal.reason);
        throw statusToError(e as grpc.ServiceError);
      } finally {
        req.signal.removeEventListener("abort", onAbort);
        // The consumer stopped early: tell the server instead of leaving the stream open.
        if (!finalStatus) call.cancel();
      }
    })();
    return { stream: true, service: req.service, method: req.method, header, trailer, message };
  })();
}

/** Turns a grpc-js status (or ServiceError) into a ConnectError, details from grpc-status-details-bin included. */
export function statusToError(s: { code: number; details: string; metadata?: grpc.Metadata }): ConnectError {
  const code = s.code >= 1 && s.code <= 16 ? (s.code as Code) : Code.Unknown;
  const err = new ConnectError(s.details, code, fromMetadata(s.metadata));
  const raw = s.metadata?.get("grpc-status-details-bin")[0];
  if (raw instanceof Uint8Array) {
    try {
      err.details.push(...decodeStatusDetails(raw));
    } catch {
      // Malformed details must not hide the status itself.
    }
  }
  return err;
}

/**
 * Reads the `details` (google.protobuf.Any) of a google.rpc.Status as connect's incoming details
 * ({ type, value }), which is what `ConnectError.findDetails` reads.
 */
export function decodeStatusDetails(bytes: Uint8Array): { type: string; value: Uint8Array }[] {
  const out: { type: string; value: Uint8Array }[] = [];
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (field !== 3) {
      r.skip(wireType);
      continue;
    }
    // google.rpc.Status.details = 3 is a google.protobuf.Any: type_url = 1, value = 2.
    const any = new BinaryReader(r.bytes());
    let typeUrl = "";
    let value: Uint8Array = new Uint8Array(0);
    while (any.pos < any.len) {
      const [f, wt] = any.tag();
      if (f === 1) typeUrl = any.string();
      else if (f === 2) value = any.bytes();
      else any.skip(wt);
    }
    out.push({ type: typeUrl.substring(typeUrl.lastIndexOf("/") + 1), value });
  }
  return out;
}

/** Copies request headers to gRPC metadata (`-bin` values are base64, as connect writes them). */
export function toMetadata(header: Headers): grpc.Metadata {
  const md = new grpc.Metadata();
  header.forEach((value, key) => {
    if (reservedHeaders.has(key)) return;
    if (key.endsWith("-bin")) {
      for (const v of value.split(/,\s*/)) md.add(key, Buffer.from(v, "base64"));
    } else {
      md.add(key, value);
    }
  });
  return md;
}

/** Copies gRPC metadata to connect Headers (binary values as unpadded base64, as connect does). */
export function fromMetadata(md: grpc.Metadata | undefined): Headers {
  const h = new Headers();
  if (!md) return h;
  for (const [key, values] of Object.entries(md.toJSON())) {
    for (const v of values) {
      h.append(key, typeof v === "string" ? v : Buffer.from(v).toString("base64").replace(/=+$/, ""));
    }
  }
  return h;
}
