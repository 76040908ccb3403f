// Cross-checks every rendered overlay against gen/shop.binpb and mesh/topology.json, and proves
// with the negative fixtures that each check fails, for the right reason, when its rule is broken.
import { join } from "node:path";
import { loadTopology } from "@shopmesh/mesh";
import { crossCheck } from "./cross-check.js";
import { type Manifest, renderManifests, repoRoot } from "./render.js";
import { loadRpcIndex } from "./rpc-index.js";

const rpcs = loadRpcIndex(join(repoRoot, "gen", "shop.binpb"));
const topo = loadTopology();

function kinds(ms: Manifest[], kind: string): Manifest[] {
  return ms.filter((m) => m.kind === kind);
}

describe.each(["istio/overlays/default", "istio/overlays/chaos"])("overlay %s", (dir) => {
  const manifests = renderManifests(dir);

  it("agrees with the contracts and the topology", () => {
    expect(crossCheck(manifests, rpcs, topo)).toEqual([]);
  });

  it("puts everything in the shop namespace, with a mesh and an edge route set per public service", () => {
    const outside = manifests.filter((m) => m.kind !== "Namespace" && m.metadata.namespace !== "shop");
    expect(outside.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual([]);
    const vs = kinds(manifests, "VirtualService").map((m) => m.metadata.name).sort();
    expect(vs).toEqual(["auth", "auth-edge", "cart", "cart-edge", "catalog", "catalog-edge", "order",
      "order-edge", "payment", "recommendation", "recommendation-edge"]);
    expect(kinds(manifests, "DestinationRule")).toHaveLength(6);
    // Per service: one policy per workload, plus deny-all, auth's JWKS and the two stores.
    expect(kinds(manifests, "AuthorizationPolicy")).toHaveLength(10);
  });

  it("routes catalog to v1 and v2 by header and by weight (canary)", () => {
    const vs = kinds(manifests, "VirtualService").find((m) => m.metadata.name === "catalog")!;
    const http = (vs.spec as { http: { match?: { headers?: unknown }[]; route: { destination: { subset: string }; weight?: number }[] }[] }).http;
    const byHeader = http.filter((r) => r.match?.some((m) => m.headers));
    expect(byHeader.length).toBeGreaterThan(0);
    expect(byHeader.every((r) => r.route[0]!.destination.subset === "v2")).toBe(true);
    const weighted = http.filter((r) => r.route.length === 2);
    expect(weighted.map((r) => r.route.map((d) => `${d.destination.subset}:${d.weight}`).join(" ")))
      .toEqual(Array(weighted.length).fill("v1:90 v2:10"));
  });
});

describe("chaos", () => {
  it("injects delays and UNAVAILABLE aborts on payment only, and only in the chaos overlay", () => {
    const faulty = (dir: string) => kinds(renderManifests(dir), "VirtualService")
      .flatMap((vs) => ((vs.spec as { http: { name?: string; fault?: { abort?: { grpcStatus?: string }; delay?: unknown } }[] }).http)
        .filter((r) => r.fault).map((r) => `${vs.metadata.name}/${r.name}:${r.fault!.abort?.grpcStatus}:${Boolean(r.fault!.delay)}`));
    expect(faulty("istio/overlays/default")).toEqual([]);
    expect(faulty("istio/overlays/chaos")).toEqual(["payment/read:UNAVAILABLE:true", "payment/write:UNAVAILABLE:true"]);
  });
});

describe("loadtest", () => {
  it("is a ghz Job against the ingress gateway, outside the mesh, with the contracts' protoset", () => {
    const [job, ...rest] = renderManifests("istio/loadtest");
    expect(rest).toEqual([]);
    expect(job!.kind).toBe("Job");
    const pod = (job!.spec as { template: { metadata: { annotations: Record<string, string> }; spec: { containers: { args: string[] }[] } } }).template;
    expect(pod.metadata.annotations["sidecar.istio.io/inject"]).toBe("false");
    const args = pod.spec.containers[0]!.args;
    expect(args.at(-1)).toBe("istio-ingressgateway.istio-system.svc.cluster.local:80");
    const call = args.find((a) => a.startsWith("--call="))!.slice("--call=".length);
    expect(rpcs.rpcs.get(`/${call}`)?.idempotent).toBe(true);
  });
});

// Each fixture is the default overlay with one rule broken; the check must name exactly that.
const fixtures: [string, string[]][] = [
  ["unknown-subset", [
    "VirtualService shop/cart http[0] (read): subset v3 of cart.shop.svc.cluster.local is not defined by any DestinationRule",
  ]],
  ["bad-retryon", [
    'VirtualService shop/order http[0] (read): retryOn "unavailabel" is not a retry condition Envoy knows',
  ]],
  ["unknown-method", [
    "VirtualService shop/cart http[0] (read): routes /shop.cart.v1.CartService/GetCarts, which is not a method in the contracts",
    "VirtualService shop/cart http[0] (read): retries on /shop.cart.v1.CartService/GetCarts, which is not one idempotent method; set attempts: 0",
  ]],
  ["retry-non-idempotent", [
    "VirtualService shop/auth http[2] (noretry): retries /shop.auth.v1.AuthService/Register, which the contracts do not mark idempotent",
    "VirtualService shop/auth http[2] (noretry): retries /shop.auth.v1.AuthService/Login, which the contracts do not mark idempotent",
    "VirtualService shop/auth http[2] (noretry): retries /shop.auth.v1.AuthService/Refresh, which the contracts do not mark idempotent",
  ]],
  ["authz-extra-caller", [
    "payment: an AuthorizationPolicy lets cluster.local/ns/shop/sa/cart call /shop.payment.v1.PaymentService/Charge; the topology does not",
    "payment: an AuthorizationPolicy lets cluster.local/ns/shop/sa/cart call /shop.payment.v1.PaymentService/GetCharge; the topology does not",
  ]],
  ["heap-over-limit", [
    "Deployment shop/catalog-v2: memory limit 512Mi does not hold the 512 MiB old-space cap and 128 MiB more",
    "Deployment shop/cart: SEMI_SPACE_MIB is 32, the runner gives cart 8",
    "Deployment shop/order: OLD_SPACE_MIB is 256, the runner caps order at 128",
  ]],
  ["port-mismatch", [
    'Service shop/cart: needs one grpc-* port 50053 with appProtocol grpc, has [{"appProtocol":"grpc","name":"grpc-cart","port":50099,"targetPort":50053}]',
  ]],
];

describe.each(fixtures)("negative fixture %s", (name, expected) => {
  it("fails the cross-check with exactly its own problem", () => {
    const problems = crossCheck(renderManifests(`istio/check/fixtures/${name}`), rpcs, topo);
    expect(problems).toEqual(expected);
  });
});
