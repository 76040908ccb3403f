// The HandlerContext a handler receives. Headers and context values are built lazily on first use,
// because most handlers never touch them and the hot path should not allocate them per call.
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { createContextValues, type ContextValues, type HandlerContext } from "@connectrpc/connect";
import type { Metadata } from "@grpc/grpc-js";
import { callerKey, userKey, type InboundCall } from "./context.js";
import type { LazyAbortController } from "./server-abort.js";

/** serve()'s HandlerContext implementation; also exposes `peer` (the caller's address). */
export class MeshHandlerContext implements HandlerContext {
  readonly protocolName = "grpc";
  readonly requestMethod = "POST";
  private _requestHeader: Headers | undefined;
  private _responseHeader: Headers | undefined;
  private _responseTrailer: Headers | undefined;
  private _values: ContextValues | undefined;

  constructor(
    readonly service: DescService,
    readonly method: DescMethod,
    private readonly abort: LazyAbortController,
    private readonly inbound: InboundCall,
    private readonly metadata: Metadata,
    private readonly getPeer: () => string,
  ) {}

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Caller's network address ("127.0.0.1:54321"). */
  get peer(): string {
    return this.getPeer();
  }

  get url(): string {
    return this.inbound.path;
  }

  timeoutMs = (): number | undefined => this.inbound.deadline - Date.now();

  get requestHeader(): Headers {
    if (this._requestHeader === undefined) {
      const h = new Headers();
      for (const [k, v] of Object.entries(this.metadata.getMap())) {
        // Binary metadata travels base64 in fetch Headers, as connect does.
        h.append(k, typeof v === "string" ? v : Buffer.from(v).toString("base64"));
      }
      this._requestHeader = h;
    }
    return this._requestHeader;
  }

  get responseHeader(): Headers {
    return (this._responseHeader ??= new Headers());
  }

  get responseTrailer(): Headers {
    return (this._responseTrailer ??= new Headers());
  }

  get values(): ContextValues {
    if (this._values === undefined) {
      this._values = createContextValues();
      this._values.set(userKey, this.inbound.user).set(callerKey, this.inbound.caller);
    }
    return this._values;
  }

  /** Response headers the handler set, if any (undefined when never touched). */
  pendingResponseHeader(): Headers | undefined {
    return this._responseHeader;
  }

  /** Response trailers the handler set, if any. */
  pendingResponseTrailer(): Headers | undefined {
    return this._responseTrailer;
  }
}
