// What `make up MESH=istio` gives istiod and runs (runner/src/istio), from the same rendered default
// overlay `make validate` checks: the workloads and their sidecars, the apps' environment, and a
// broken manifest refused by istiod itself. Pure but for istiod-local, which runs on a temp dir.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadTopology } from "@shopmesh/mesh";
import { istioPlan } from "../../runner/src/istio/plan.js";
import { renderIstio } from "../../runner/src/istio/render.js";
import { buildInstances } from "../../runner/src/routes.js";
import { renderManifests, repoRoot } from "./render.js";

const topology = loadTopology(join(repoRoot, "mesh", "topology.json"));
const objects = renderManifests("istio/overlays/default");
const instances = buildInstances(topology, { catalog: 2 });
const gateway = { ip: "127.0.0.1", port: 8080 };
const { config, workloads } = renderIstio(objects, topology, instances, gateway);
const secrets = { value: (ref: string) => `value-of:${ref}`, file: (ref: string) => `/secrets/${ref}` };

test("istiod gets every Istio object of the overlay unchanged, and each Gateway bound to the edge's address", () => {
  const istio = objects.filter((o) => o.apiVersion.includes("istio.io/"));
  for (const o of istio.filter((x) => x.kind !== "Gateway")) expect(config).toContainEqual(o);
  const gateways = config.filter((o) => o.kind === "Gateway" && o.metadata.name !== "edge-reflection");
  expect(gateways.map((g) => g.metadata.name)).toEqual(istio.filter((o) => o.kind === "Gateway").map((o) => o.metadata.name));
  for (const g of gateways) expect(g.spec.servers.map((s: { bind: string }) => s.bind)).toEqual(g.spec.servers.map(() => "127.0.0.1"));
});

test("reflection and health at the gateway go to catalog, which only the gateway gains for those paths", () => {
  const vs = config.find((o) => o.kind === "VirtualService" && o.metadata.name === "edge-reflection")!;
  expect(vs.spec.gateways).toEqual(objects.filter((o) => o.kind === "Gateway").map((g) => g.metadata.name));
  expect(vs.spec.http[0].route).toEqual([{ destination: { host: "catalog.shop.svc.cluster.local", port: { number: 50052 } } }]);
  const policy = config.find((o) => o.kind === "AuthorizationPolicy" && o.metadata.name === "edge-reflection")!;
  expect(policy.spec).toEqual({ selector: { matchLabels: { app: "catalog" } }, action: "ALLOW", rules: [{
    from: [{ source: { principals: ["cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"] } }],
    to: [{ operation: { paths: ["/grpc.reflection.v1.ServerReflection/*", "/grpc.reflection.v1alpha.ServerReflection/*", "/grpc.health.v1.Health/*"] } }] }] });
  expect(JSON.stringify(config)).not.toContain("reflector");
});

test("every replica, the canary and the stores get a WorkloadEntry and a Sidecar of their own", () => {
  expect(workloads.map((w) => `${w.pod} ${w.app}`).sort()).toEqual([
    "auth-0 auth", "cart-0 cart", "catalog-0 catalog", "catalog-1 catalog-2", "catalog-v2-0 catalog-v2", "mongo-0 ferretdb",
    "order-0 order", "payment-0 payment", "recommendation-0 recommendation", "redis-0 redis",
  ]);
  expect(new Set(workloads.map((w) => w.ip)).size).toBe(workloads.length);
  const sidecars = new Map(config.filter((o) => o.kind === "Sidecar").map((o) => [o.metadata.name, o.spec]));
  const entries = new Map(config.filter((o) => o.kind === "WorkloadEntry").map((o) => [o.metadata.name, o.spec]));
  for (const w of workloads) {
    expect(entries.get(w.pod)).toMatchObject({ address: w.ip, serviceAccount: w.serviceAccount });
    // Inbound on the workload's IP to the app's own loopback port; egress on the second IP.
    expect(sidecars.get(w.pod).ingress.map((i: { bind: string; defaultEndpoint: string }) => [i.bind, i.defaultEndpoint]))
      .toEqual(w.ingress.map((p) => [w.ip, `127.0.0.1:${p.appPort}`]));
    expect(new Set(sidecars.get(w.pod).egress.map((e: { bind: string }) => e.bind))).toEqual(new Set([w.egressIp]));
  }
  const catalog2 = workloads.find((w) => w.app === "catalog-2")!;
  expect(catalog2.ingress.map((p) => [p.port, p.appPort])).toEqual([[50052, 50062], [9092, 9102]]);
  expect(workloads.find((w) => w.app === "catalog-v2")!.labels).toMatchObject({ app: "catalog", version: "v2" });
  expect(workloads.find((w) => w.app === "ferretdb")!.ingress.map((p) => p.appPort)).toEqual([topology.stores.ferretdb.port]);
});

test("each app runs in istio mode with its Deployment's environment, the cluster's names turned into its egress IP", () => {
  const plans = istioPlan(topology, instances, workloads, gateway, secrets);
  expect([...new Set(plans.map((p) => p.kind))]).toEqual(["control", "store", "proxy", "service", "edge"]);
  const order = plans.find((p) => p.name === "order")!;
  const egress = workloads.find((w) => w.app === "order")!.egressIp;
  expect(order.env).toMatchObject({ MESH_MODE: "istio", HOST: "127.0.0.1", PORT: "50055", MONGO_DB: "shop_order",
    MONGO_URL: `mongodb://${egress}:27017/`, CART_ADDR: `${egress}:50053`, PAYMENT_ADDR: `${egress}:50054`,
    MESH_TRUST_DOMAIN: "cluster.local" });
  expect(order.env!.MESH_CERT_DIR).toBeUndefined();
  expect(order.probe).toEqual({ grpc: "plaintext" });
  // Secrets the manifests reference come from the runner's store, never from the manifests.
  expect(plans.find((p) => p.name === "auth")!.env!.JWT_KEY_FILE).toBe("/secrets/auth-jwt/private.pem");
  expect(plans.find((p) => p.name === "payment")!.env!.PAYMENT_CARD_HASH_KEY).toBe("value-of:payment-card-hash/key");
  for (const c of ["catalog", "catalog-2", "catalog-v2"]) {
    expect(plans.find((p) => p.name === c)!.env!.PAGE_TOKEN_SECRET).toBe("value-of:catalog-page-token/key");
  }
  const proxy = plans.find((p) => p.name === "catalog-2-sidecar")!;
  expect(proxy.env).toMatchObject({ POD_NAME: "catalog-1", POD_NAMESPACE: "shop", SERVICE_ACCOUNT: "catalog",
    INSTANCE_IP: workloads.find((w) => w.app === "catalog-2")!.ip, ISTIO_META_INTERCEPTION_MODE: "NONE" });
});

test("istiod refuses a broken manifest with Istio's own message, so make up MESH=istio starts nothing", () => {
  const broken = renderManifests("istio/check/fixtures/bad-retryon");
  const dir = mkdtempSync(join(tmpdir(), "shopmesh-istiod-"));
  try {
    writeFileSync(join(dir, "shop.yaml"), renderIstio(broken, topology, instances, gateway).config.map((o) => JSON.stringify(o)).join("\n---\n"));
    writeFileSync(join(dir, "mesh.yaml"), "trustDomain: cluster.local\n");
    const r = spawnSync(join(repoRoot, ".bin", "istiod-local"), ["-configDir", dir, "-meshConfig", join(dir, "mesh.yaml"),
      "-grpcAddr", "127.0.0.1:0", "-httpAddr", "127.0.0.1:0"], { encoding: "utf8", timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stderr + r.stdout).toMatch(/unavailabel/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
