// Tracing's configuration from OTEL_*, and tracing off: with no OTEL_* setting, no tracer provider
// is registered, calls carry no span, and the W3C context still propagates as before.
import { trace } from "@opentelemetry/api";
import { CatalogService } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { OrderService } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import { closeClients, createClient } from "./client.js";
import { inboundCall } from "./context.js";
import { serve, type MeshServer } from "./serve.js";
import { createTestMesh, type TestMesh } from "./testing/index.js";
import { tracingConfig, tracingEnabled } from "./tracing.js";

// Whatever the shell running the tests has set, this file is about a process without it.
for (const k of Object.keys(process.env)) if (k.startsWith("OTEL_")) delete process.env[k];

describe("tracingConfig", () => {
  test("nothing set, or only empty values (istio/base/config.yaml), is off", () => {
    expect(tracingConfig({})).toBeUndefined();
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "", OTEL_TRACES_EXPORTER: " " })).toBeUndefined();
    expect(tracingConfig({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toBeUndefined();
    expect(tracingConfig({ OTEL_SDK_DISABLED: "true", OTEL_TRACES_EXPORTER: "zipkin" })).toBeUndefined();
  });

  test("an OTLP endpoint alone turns OTLP on; the traces endpoint is used as given, the base one gets /v1/traces", () => {
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector.observability:4318/" })).toMatchObject({
      exporter: "otlp", endpoint: "http://collector.observability:4318/v1/traces", sampler: "parentbased_always_on", ratio: 1,
    });
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://b:4318/custom" })?.endpoint)
      .toBe("http://b:4318/custom");
    expect(tracingConfig({ OTEL_TRACES_EXPORTER: "otlp" })?.endpoint).toBe("http://localhost:4318/v1/traces");
  });

  test("zipkin, its endpoint, the sampler and the service name", () => {
    expect(tracingConfig({ OTEL_TRACES_EXPORTER: "zipkin" })?.endpoint).toBe("http://localhost:9411/api/v2/spans");
    const cfg = tracingConfig({
      OTEL_TRACES_EXPORTER: "Zipkin", OTEL_EXPORTER_ZIPKIN_ENDPOINT: "http://127.0.0.1:9411/api/v2/spans",
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.1", MESH_SERVICE_NAME: "cart", MESH_INSTANCE: "cart-1",
    });
    expect(cfg).toEqual({ exporter: "zipkin", endpoint: "http://127.0.0.1:9411/api/v2/spans", sampler: "parentbased_traceidratio",
      ratio: 0.1, serviceName: "cart", instance: "cart-1" });
    expect(tracingConfig({ OTEL_TRACES_EXPORTER: "console", OTEL_SERVICE_NAME: "shop-cart", MESH_SERVICE_NAME: "cart" })?.serviceName).toBe("shop-cart");
  });

  test("a value it does not know fails the start, as the rest of the mesh config does", () => {
    expect(() => tracingConfig({ OTEL_TRACES_EXPORTER: "jaeger" })).toThrow(/OTEL_TRACES_EXPORTER=jaeger/);
    expect(() => tracingConfig({ OTEL_TRACES_EXPORTER: "zipkin", OTEL_TRACES_SAMPLER: "sometimes" })).toThrow(/OTEL_TRACES_SAMPLER=sometimes/);
    expect(() => tracingConfig({ OTEL_TRACES_EXPORTER: "zipkin", OTEL_TRACES_SAMPLER_ARG: "1.5" })).toThrow(/OTEL_TRACES_SAMPLER_ARG=1.5/);
    expect(() => tracingConfig({ OTEL_TRACES_EXPORTER: "zipkin", OTEL_TRACES_SAMPLER_ARG: "ten" })).toThrow(/OTEL_TRACES_SAMPLER_ARG=ten/);
    expect(() => tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4317", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toThrow(/http\/protobuf/);
    expect(() => tracingConfig({ OTEL_TRACES_EXPORTER: "zipkin", OTEL_EXPORTER_ZIPKIN_ENDPOINT: "not a url" })).toThrow(/not a URL/);
  });
});

describe("with no OTEL_* setting", () => {
  let mesh: TestMesh;
  let order: MeshServer;
  let catalog: MeshServer;
  const seen: { orderSpan?: unknown; orderTraceId?: string; orderSpanId?: string; catalogTraceparent?: string | null } = {};

  beforeAll(async () => {
    mesh = await createTestMesh();
    catalog = await serve({
      name: "catalog", port: 0, config: mesh.config("catalog"), reflection: false,
      services: [{ service: CatalogService, impl: {
        async getProduct(req, ctx) {
          seen.catalogTraceparent = ctx.requestHeader.get("traceparent");
          return { product: { id: req.id } };
        },
      } }],
    });
    order = await serve({
      name: "order", port: 0, config: mesh.config("order"), reflection: false,
      services: [{ service: OrderService, impl: {
        async getOrder(req) {
          const call = inboundCall();
          seen.orderSpan = call?.span;
          seen.orderTraceId = call?.traceId;
          seen.orderSpanId = call?.spanId;
          const catalogClient = createClient(CatalogService, { target: "catalog", address: `127.0.0.1:${catalog.port}`, config: mesh.config("order") });
          await catalogClient.getProduct({ id: req.orderId });
          return { order: { id: req.orderId } };
        },
      } }],
    });
  });

  afterAll(async () => {
    closeClients();
    await order.close(100);
    await catalog.close(100);
    mesh.dispose();
  });

  test("no tracer provider is registered and calls carry no span, while the trace context still propagates", async () => {
    const token = await mesh.signToken({ sub: "u1" });
    const edge = createClient(OrderService, { target: "order", address: `127.0.0.1:${order.port}`, config: mesh.config("edge") });
    await edge.getOrder({ orderId: "o1" }, { headers: { authorization: `Bearer ${token}`, traceparent: `00-${"ab".repeat(16)}-${"cd".repeat(8)}-01` } });

    expect(tracingEnabled()).toBe(false);
    // The global provider is still the API's no-op: its spans record nothing and have no ids.
    const span = trace.getTracer("probe").startSpan("probe");
    expect(span.isRecording()).toBe(false);
    expect(span.spanContext().traceId).toBe("0".repeat(32));
    expect(seen.orderSpan).toBeUndefined();
    // The mesh's own W3C propagation, unchanged: the caller's trace id, a new child span id.
    expect(seen.orderTraceId).toBe("ab".repeat(16));
    expect(seen.orderSpanId).toMatch(/^[0-9a-f]{16}$/);
    expect(seen.catalogTraceparent).toMatch(new RegExp(`^00-${"ab".repeat(16)}-[0-9a-f]{16}-01$`));
  });
});
