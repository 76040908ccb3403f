// serve(): hosts connect-style ServiceImpl handlers on a @grpc/grpc-js server (measured ~3x the
// throughput of connect-node's server: docs/architecture.md, "Serving"), with the mesh's server concerns in front of every
// handler: load shedding, deadline → ctx.signal, caller identity (mTLS / sidecar) against topology,
// end-user JWT, and behind it: one error map, metrics, access log. Health and reflection ride along.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Server, ServerCredentials, status as grpcStatus, type ServerUnaryCall, type ServerWritableStream, type sendUnaryData } from "@grpc/grpc-js";
import { create, fromBinary, isMessage, toBinary, type DescMessage, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { MeshConfig } from "./config.js";
import { defaultAccessLog, keepsLine } from "./access-log.js";
import { runWithInboundCall, type InboundCall } from "./context.js";
import { isEncoded } from "./encoded.js";
import { toConnectError } from "./errors.js";
import { addHealth } from "./health.js";
import { faultOff, injectFault } from "./fault.js";
import { createLogger, type Logger } from "./logger.js";
import { addReflection, createReflectionIndex, type ReflectionOptions } from "./reflection.js";
import { createMethodMetrics, meshRegistry, reportInflight, shedCounter, type MethodMetrics } from "./metrics.js";
import { MeshHandlerContext } from "./server-context.js";
import { LazyAbortController } from "./server-abort.js";
import { copyHeaders, statusFromConnectError } from "./server-status.js";
import { createServerGuard, type ServerGuard } from "./server-guard.js";
import { newSpanId, newTraceId, parseTraceparent } from "./trace.js";
import { flushTracing, serverTracing, type ServerTracing } from "./tracing.js";
import { Metadata } from "@grpc/grpc-js";

/** A hosted service: its generated descriptor and a connect-style implementation. */

/** The catalog canary's routing header (istio/components/canary/virtualservice-catalog.yaml). */
export const CANARY_HEADER = "x-shop-canary";

/** A routing header's value to forward: short text only, so a caller cannot make every hop carry a blob. */
function routingHeader(v: string | Buffer | undefined): string | undefined {
  return typeof v === "string" && /^[A-Za-z0-9._-]{1,32}$/.test(v) ? v : undefined;
}

export interface ServiceRegistration {
  /** The generated service descriptor, e.g. CatalogService. */
  service: DescService;
  /** Handlers by method localName; use `satisfies ServiceImpl<typeof X>` for type checks. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  impl: Record<string, (...args: any[]) => any>;
}

/** An extra HTTP route on the admin port. */
export type AdminRoute = (req: IncomingMessage, res: ServerResponse) => void;

/** Options of serve(). */
export interface ServeOptions {
  /** Service name (topology key), e.g. "catalog"; labels logs and metrics. */
  name: string;
  /** gRPC port; 0 picks a free one. */
  port: number;
  /** Bind address; default 127.0.0.1 (use 0.0.0.0 in a pod). */
  host?: string;
  /** Admin HTTP port (/metrics, /healthz); 0 picks a free one; undefined: no admin server. */
  adminPort?: number;
  /** The services to host. */
  services: ServiceRegistration[];
  /** Mesh configuration (mode, certs, JWT, topology, limits). */
  config: MeshConfig;
  /** Extra admin routes by exact path (auth serves its JWKS here). */
  adminRoutes?: Record<string, AdminRoute>;
  /** Logger; default createLogger(name). */
  logger?: Logger;
  /** Reflection options, or false to disable reflection. */
  reflection?: ReflectionOptions | false;
}

/** A running mesh server. */
export interface MeshServer {
  /** The bound gRPC port. */
  port: number;
  /** The bound admin port, if any. */
  adminPort: number | undefined;
  /** grpc.health.v1 status control. */
  health: { setServing(serving: boolean): void };
  /**
   * Graceful shutdown: NOT_SERVING, refuse new calls (Unavailable), let in-flight calls finish for up
   * to graceMs (default 10 s), then cancel the rest and close. Idempotent.
   */
  close(graceMs?: number): Promise<void>;
}

type MethodKind = "unary" | "server_streaming";

/** A running call as the deadline sweep sees it. */
interface Running {
  /** Absolute deadline, epoch ms (Infinity for streams without one). */
  deadline: number;
  /** Ends the call with DeadlineExceeded and aborts its signal. */
  expire: () => void;
  /** When a stream reaches its maximum lifetime, epoch ms (Infinity for unary calls). */
  retireAt: number;
  /** Ends the stream cleanly (OK) at its maximum lifetime. */
  retire: () => void;
}

/** Deadline sweep period: the precision of our deadline cap (grpc-js enforces client deadlines exactly). */
const sweepMs = 20;
const noop = () => {};

/** Why a call's signal fires when grpc-js reports it cancelled: past its deadline it timed out, else the client left. */
function cancelReason(deadline: number): DOMException {
  return Date.now() >= deadline - sweepMs
    ? new DOMException("deadline exceeded", "TimeoutError")
    : new DOMException("call canceled by the client", "AbortError");
}

interface MethodEntry {
  service: DescService;
  method: DescMethod;
  input: DescMessage;
  output: DescMessage;
  path: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  impl: (...args: any[]) => any;
  metrics: MethodMetrics;
}

const identity = (b: Buffer) => b;

function toBuffer(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

function serializeOutput(output: DescMessage, res: unknown): Buffer {
  if (isEncoded(res)) {
    if (res.schema.typeName !== output.typeName) throw new Error(`the handler encoded a ${res.schema.typeName}, not a ${output.typeName}`);
    return toBuffer(res.bytes);
  }
  // Handlers may return plain init objects; create() fills defaults so toBinary sees a full message.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const msg = isMessage(res as any, output) ? (res as any) : create(output, (res ?? {}) as any);
  return toBuffer(toBinary(output, msg));
}

/** Starts a mesh server; resolves once it listens. */
export async function serve(opts: ServeOptions): Promise<MeshServer> {
  const { config } = opts;
  const log = opts.logger ?? createLogger(opts.name);
  const accessLog = log.isLevelEnabled("info");
  const sampling = config.accessLog ?? defaultAccessLog;
  const limits = config.limits;
  const server = new Server({
    "grpc.max_receive_message_length": limits.maxMessageBytes,
    "grpc.max_send_message_length": limits.maxMessageBytes,
  });
  const guard: ServerGuard = createServerGuard(config);
  const shed = shedCounter(opts.name);
  // Every running call with its deadline. One coarse sweep expires them all, instead of a timer per
  // call; grpc-js itself cancels calls at the client's deadline, the sweep enforces our cap too.
  const active = new Map<LazyAbortController, Running>();
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const r of active.values()) {
      if (r.deadline <= now) r.expire();
      else if (r.retireAt <= now) r.retire();
    }
  }, sweepMs);
  sweep.unref();
  const unreportInflight = reportInflight(opts.name, () => active.size);
  const fault = config.fault && !faultOff(config.fault) ? config.fault : undefined;
  let draining = false;
  // Tracing (tracing.ts): a SERVER span per admitted call; undefined when off. Set once bound.
  let spans: ServerTracing | undefined;

  /** Builds the inbound call and runs the admission checks; throws, or returns a promise when a token is verified. */
  const admit = (call: ServerUnaryCall<Buffer, Buffer> | ServerWritableStream<Buffer, Buffer>, m: MethodEntry, kind: MethodKind, ac: LazyAbortController): [InboundCall, Promise<void> | undefined] => {
    const md = call.metadata;
    const tp = parseTraceparent(md.get("traceparent")[0] as string | undefined);
    const d = call.getDeadline();
    let deadline = d instanceof Date ? d.getTime() : d;
    // Unary calls are capped so nothing waits forever; streams (watches) live as long as the client wants.
    if (kind === "unary" && !(deadline <= Date.now() + limits.maxDeadlineMs)) deadline = Date.now() + limits.maxDeadlineMs;
    const auth = md.get("authorization")[0] as string | undefined;
    const ts = md.get("tracestate")[0] as string | undefined;
    const inbound: InboundCall = {
      path: m.path, deadline, get signal() { return ac.signal; }, authorization: auth,
      traceId: tp?.traceId ?? newTraceId(), spanId: newSpanId(), traceFlags: tp?.flags ?? "01", tracestate: ts,
      user: undefined, caller: undefined, canary: routingHeader(md.get(CANARY_HEADER)[0]),
    };
    if (draining) throw new ConnectError("server is shutting down", Code.Unavailable);
    spans?.start(inbound, m.service.typeName, m.method.name, tp); // tracing: the span takes over the ids
    return [inbound, guard(call, inbound)];
  };

  const finishLog = (m: MethodEntry, inbound: InboundCall | undefined, code: number, t0: number, err: ConnectError | undefined) => {
    const seconds = (performance.now() - t0) / 1000;
    m.metrics.finish(code, seconds);
    spans?.end(inbound, code, err?.rawMessage); // tracing
    if (!accessLog) return;
    const ms = Math.round(seconds * 10_000) / 10;
    // Tracing decided inbound.traceFlags when it is on: a kept trace keeps its lines.
    if (!keepsLine(sampling, { code, ms, traceId: inbound?.traceId, traced: spans !== undefined && inbound?.traceFlags === "01" })) return;
    const line = {
      trace_id: inbound?.traceId, span_id: inbound?.spanId, method: m.path, code: code === 0 ? "OK" : Code[code],
      ms, caller: inbound?.caller, user: inbound?.user?.id,
      error: err?.rawMessage,
    };
    if (code === Code.Internal || code === Code.Unknown) log.error(line, "rpc");
    else log.info(line, "rpc");
  };

  // Unary calls and streams have budgets of their own: held streams (a watch may idle for
  // minutes) must never starve unary calls (issue 14: 3,000 idle WatchProduct streams made
  // GetProduct answer "server overloaded").
  const open = { unary: 0, server_streaming: 0 };
  const budget = { unary: limits.maxConcurrentCalls, server_streaming: limits.maxConcurrentStreams };
  const begin = (m: MethodEntry, running: Running, kind: MethodKind) => {
    m.metrics.start();
    // Shed before doing any work: past the limit, every extra call only adds latency for all.
    if (open[kind] >= budget[kind]) {
      shed.inc();
      return undefined;
    }
    open[kind]++;
    const ac = new LazyAbortController();
    active.set(ac, running);
    return ac;
  };

  const end = (ac: LazyAbortController, kind: MethodKind) => {
    if (active.delete(ac)) open[kind]--;
  };

  // Open streams per caller: the end user when a valid JWT came; otherwise the client's address,
  // as the edge forwards it (only the edge's word is taken for it), or the peer's own.
  const streamsOf = new Map<string, number>();
  const streamOwner = (cur: InboundCall, call: ServerWritableStream<Buffer, Buffer>): string => {
    if (cur.user) return `user:${cur.user.id}`;
    const forwarded = cur.caller === "edge" ? (call.metadata.get("x-forwarded-for")[0] as string | undefined) : undefined;
    // The rightmost entry is the one the edge itself saw; anything left of it came from the client.
    const addr = forwarded?.split(",").pop()?.trim() || call.getPeer().replace(/:\d+$/, "");
    return `addr:${addr}`;
  };

  // What every call does before its handler runs: admission (access, identity, JWT), the deadline,
  // decoding the request and building the handler context. `onInbound` hears the inbound call as
  // soon as it exists, so a failure in a later step is still logged with its trace and caller.
  const accept = async (call: ServerUnaryCall<Buffer, Buffer> | ServerWritableStream<Buffer, Buffer>, m: MethodEntry,
    kind: MethodKind, ac: LazyAbortController, running: Running, fail: (err: unknown) => void,
    onInbound: (inbound: InboundCall) => void): Promise<{ cur: InboundCall; req: unknown; ctx: MeshHandlerContext }> => {
    const [cur, pending] = admit(call, m, kind, ac);
    onInbound(cur);
    if (pending !== undefined) await pending;
    if (cur.deadline <= Date.now()) throw new ConnectError("deadline exceeded", Code.DeadlineExceeded);
    running.deadline = cur.deadline;
    running.expire = () => {
      // Our (possibly capped) deadline passed: answer now and tell the handler to stop.
      const reason = new DOMException("deadline exceeded", "TimeoutError");
      ac.abort(reason);
      fail(reason);
    };
    let req;
    try {
      req = fromBinary(m.input, call.request);
    } catch {
      throw new ConnectError("request message is not valid protobuf", Code.InvalidArgument);
    }
    return { cur, req, ctx: new MeshHandlerContext(m.service, m.method, ac, cur, call.metadata, () => call.getPeer()) };
  };

  const unary = (m: MethodEntry) => (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
    const t0 = performance.now();
    const running: Running = { deadline: Infinity, expire: noop, retireAt: Infinity, retire: noop };
    const ac = begin(m, running, "unary");
    if (ac === undefined) {
      finishLog(m, undefined, Code.ResourceExhausted, t0, undefined);
      callback({ code: grpcStatus.RESOURCE_EXHAUSTED, details: "server overloaded, retry later" });
      return;
    }
    let inbound: InboundCall | undefined;
    let done = false;
    const onCancel = () => ac.abort(cancelReason(running.deadline));
    call.once("cancelled", onCancel);
    const fail = (err: unknown, trailer?: Headers) => {
      if (done) return;
      done = true;
      const ce = toConnectError(err);
      finishLog(m, inbound, ce.code, t0, ce);
      callback(statusFromConnectError(ce, trailer));
    };
    const run = async () => {
      const { cur, req, ctx } = await accept(call, m, "unary", ac, running, fail, (i) => { inbound = i; });
      if (fault) await injectFault(fault, ac.signal);
      try {
        const res = await runWithInboundCall(cur, () => m.impl(req, ctx));
        if (done) return;
        const bytes = serializeOutput(m.output, res);
        const header = ctx.pendingResponseHeader();
        if (header !== undefined) {
          const hm = new Metadata();
          copyHeaders(header, hm);
          call.sendMetadata(hm);
        }
        const trailerHeaders = ctx.pendingResponseTrailer();
        let trailer: Metadata | undefined;
        if (trailerHeaders !== undefined) {
          trailer = new Metadata();
          copyHeaders(trailerHeaders, trailer);
        }
        done = true;
        finishLog(m, inbound, 0, t0, undefined);
        callback(null, bytes, trailer);
      } catch (err) {
        fail(err, ctx.pendingResponseTrailer());
      }
    };
    run().catch(fail).finally(() => {
      call.removeListener("cancelled", onCancel);
      end(ac, "unary");
    });
  };

  const serverStreaming = (m: MethodEntry) => (call: ServerWritableStream<Buffer, Buffer>) => {
    const t0 = performance.now();
    const running: Running = { deadline: Infinity, expire: noop, retireAt: Infinity, retire: noop };
    const ac = begin(m, running, "server_streaming");
    if (ac === undefined) {
      finishLog(m, undefined, Code.ResourceExhausted, t0, undefined);
      call.emit("error", { code: grpcStatus.RESOURCE_EXHAUSTED, details: "too many open streams on this server, retry later" });
      return;
    }
    let owner: string | undefined;
    let retired = false;
    let inbound: InboundCall | undefined;
    let done = false;
    const onCancel = () => ac.abort(cancelReason(running.deadline));
    call.once("cancelled", onCancel);
    // A write after the client left raises on the stream; the abort already tells the handler.
    call.on("error", () => {});
    const fail = (err: unknown, trailer?: Headers) => {
      if (done) return;
      done = true;
      const ce = toConnectError(err);
      finishLog(m, inbound, ce.code, t0, ce);
      if (!call.cancelled) call.emit("error", statusFromConnectError(ce, trailer));
    };
    const run = async () => {
      const { cur, req, ctx } = await accept(call, m, "server_streaming", ac, running, fail, (i) => { inbound = i; });
      const who = streamOwner(cur, call);
      const held = streamsOf.get(who) ?? 0;
      if (held >= limits.maxStreamsPerCaller) {
        throw new ConnectError(`too many open streams for this caller (at most ${limits.maxStreamsPerCaller}), retry later`, Code.ResourceExhausted);
      }
      streamsOf.set(who, held + 1);
      owner = who;
      // At its maximum lifetime a stream ends with OK and says why; the client opens it again
      // (a watch starts with the current state, so nothing is missed).
      running.retireAt = Date.now() + limits.maxStreamLifetimeMs;
      running.retire = () => {
        running.retireAt = Infinity;
        retired = true;
        ctx.responseTrailer.set("x-shop-stream-end", "max-lifetime");
        ac.abort(new DOMException("stream reached its maximum lifetime", "AbortError"));
      };
      const endOk = () => {
        done = true;
        finishLog(m, inbound, 0, t0, undefined);
        const trailer = new Metadata();
        copyHeaders(ctx.pendingResponseTrailer() ?? new Headers(), trailer);
        call.end(trailer);
      };
      try {
        await runWithInboundCall(cur, async () => {
          const iterable = m.impl(req, ctx) as AsyncIterable<unknown>;
          let sentHeader = false;
          for await (const res of iterable) {
            if (done || ac.aborted) break;
            if (!sentHeader) {
              sentHeader = true;
              const header = ctx.pendingResponseHeader();
              if (header !== undefined) {
                const hm = new Metadata();
                copyHeaders(header, hm);
                call.sendMetadata(hm);
              }
            }
            // Respect flow control: a slow reader must not make us buffer the whole stream in memory.
            if (!call.write(serializeOutput(m.output, res))) await waitDrain(call, ac.signal);
          }
        });
        if (done) return;
        if (ac.aborted && !retired) throw ac.reason;
        endOk();
      } catch (err) {
        // A handler that throws on the abort sent at its lifetime still ends cleanly.
        if (!retired) fail(err, ctx.pendingResponseTrailer());
        else if (!done) endOk();
      }
    };
    run().catch(fail).finally(() => {
      call.removeListener("cancelled", onCancel);
      end(ac, "server_streaming");
      if (owner !== undefined) {
        const left = (streamsOf.get(owner) ?? 1) - 1;
        if (left > 0) streamsOf.set(owner, left);
        else streamsOf.delete(owner);
      }
    });
  };

  const served: DescService[] = [];
  for (const { service, impl } of opts.services) {
    served.push(service);
    for (const method of service.methods) {
      const fn = impl[method.localName];
      // Unimplemented methods stay unregistered: grpc-js answers Unimplemented for them.
      if (typeof fn !== "function") continue;
      const path = `/${service.typeName}/${method.name}`;
      const type = method.methodKind === "unary" ? "unary" : method.methodKind === "server_streaming" ? "server_stream" : "other";
      if (type === "other") throw new Error(`mesh: ${path} is ${method.methodKind}; serve() supports unary and server streaming`);
      const entry: MethodEntry = {
        service, method, input: method.input, output: method.output, path, impl: fn.bind(impl),
        metrics: createMethodMetrics(type, service.typeName, method.name),
      };
      if (type === "unary") server.register(path, unary(entry), identity, identity, "unary");
      else server.register(path, serverStreaming(entry), identity, identity, "serverStream");
    }
  }
  const health = addHealth(server, served.map((s) => s.typeName));
  if (opts.reflection !== false) addReflection(server, createReflectionIndex(served, opts.reflection ?? {}));

  const creds = config.mode === "local"
    ? serverCredentials(config)
    : ServerCredentials.createInsecure();
  const host = opts.host ?? opts.config.host ?? "127.0.0.1";
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${opts.port}`, creds, (err, p) => (err ? reject(err) : resolve(p)));
  });
  spans = await serverTracing(opts.name, host, port);

  let admin: HttpServer | undefined;
  let adminPort: number | undefined;
  if (opts.adminPort !== undefined) {
    admin = createAdminServer(opts.adminRoutes ?? {}, () => health.serving, log);
    await new Promise<void>((resolve, reject) => {
      admin!.once("error", reject);
      admin!.listen(opts.adminPort, host, () => resolve());
    });
    adminPort = (admin.address() as AddressInfo).port;
  }
  health.setServing(true);
  log.info({ port, adminPort, mode: config.mode, services: served.map((s) => s.typeName) }, "serving");

  let closing: Promise<void> | undefined;
  const close = (graceMs = 10_000): Promise<void> => {
    closing ??= (async () => {
      draining = true;
      health.setServing(false);
      unreportInflight();
      log.info({ inflight: active.size, graceMs }, "draining");
      const drained = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      let graceTimer: NodeJS.Timeout | undefined;
      const expired = new Promise<"expired">((resolve) => { graceTimer = setTimeout(() => resolve("expired"), graceMs); });
      const outcome = await Promise.race([drained, expired]);
      clearTimeout(graceTimer);
      if (outcome === "expired") {
        // Past the bound: cancel what is left so handlers stop their downstream work, then cut connections.
        log.warn({ inflight: active.size }, "grace period over, cancelling in-flight calls");
        for (const ac of active.keys()) ac.abort(new DOMException("server shutting down", "AbortError"));
        server.forceShutdown();
      }
      clearInterval(sweep);
      await flushTracing(); // the spans of the last calls
      if (admin !== undefined) await new Promise<void>((resolve) => { admin!.close(() => resolve()); admin!.closeAllConnections(); });
      log.info("closed");
    })();
    return closing;
  };

  return { port, adminPort, health: { setServing: (on) => health.setServing(on) }, close };
}

function serverCredentials(config: MeshConfig): ServerCredentials {
  if (config.tls === undefined) throw new Error("mesh: local mode needs TLS material (MESH_CERT_DIR)");
  // checkClientCertificate=true: a caller without a certificate from our CA is refused during the handshake.
  return ServerCredentials.createSsl(config.tls.ca, [{ cert_chain: config.tls.cert, private_key: config.tls.key }], true);
}

function waitDrain(call: ServerWritableStream<Buffer, Buffer>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.removeListener("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    call.once("drain", done);
    signal.addEventListener("abort", done, { once: true });
  });
}

function createAdminServer(routes: Record<string, AdminRoute>, serving: () => boolean, log: Logger): HttpServer {
  return createHttpServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    const route = routes[path];
    if (route !== undefined) {
      try {
        route(req, res);
      } catch (err) {
        log.error({ err, path }, "admin route failed");
        if (!res.headersSent) res.writeHead(500).end("internal error\n");
      }
      return;
    }
    if (path === "/metrics") {
      meshRegistry.metrics().then(
        (text) => res.writeHead(200, { "content-type": meshRegistry.contentType }).end(text),
        (err) => { log.error({ err }, "metrics failed"); res.writeHead(500).end(); },
      );
      return;
    }
    if (path === "/healthz") {
      const ok = serving();
      res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(ok ? "ok\n" : "draining\n");
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  });
}
