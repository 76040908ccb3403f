// The runner's pure parts against the real mesh/topology.json and gen/shop.binpb: replica counts,
// the process plan and the nginx config. Nothing is started.
import { loadTopology } from "@shopmesh/mesh";
import { certDir, logDir, nginxDir, repo, topologyFile } from "./paths.js";
import { nodeServiceFlags, plan, replicasFrom } from "./plan.js";
import { renderNginxConf } from "./render/nginx.js";
import { buildInstances, buildRoutes, REPLICA_PORT_STEP } from "./routes.js";
import type { Proc } from "./supervisor.js";

const topology = loadTopology(topologyFile);

test("replicas come from the running mesh, REPLICAS_<service> overrides, 1 to 3 only", () => {
  const running = [{ name: "catalog-2", kind: "service" }, { name: "edge-2", kind: "edge" }] as Proc[];
  expect(replicasFrom({}, running)).toEqual({ catalog: 2 });
  expect(replicasFrom({ REPLICAS_catalog: "3", REPLICAS_cart: "" }, running)).toEqual({ catalog: 3 });
  expect(() => replicasFrom({ REPLICAS_cart: "4" }, [])).toThrow("REPLICAS_cart=4: replicas must be 1 to 3");
});

test("the plan starts stores, every replica and the edge, in that order", () => {
  const instances = buildInstances(topology, { catalog: 2 });
  const plans = plan(topology, instances);
  // Every service of the topology in its order, catalog twice; not a pinned list, so adding a
  // service (docs/adding-a-service.md) needs no edit here.
  const services = Object.keys(topology.services).flatMap((s) => (s === "catalog" ? ["catalog", "catalog-2"] : [s]));
  expect(services.slice(0, 6)).toEqual(["auth", "catalog", "catalog-2", "cart", "payment", "order"]);
  expect(plans.map((p) => p.name)).toEqual(["ferretdb", "redis", ...services, "edge"]);
  const catalog2 = plans.find((p) => p.name === "catalog-2")!;
  expect(catalog2.port).toBe(topology.services.catalog!.port + REPLICA_PORT_STEP);
  expect(catalog2.env!.CATALOG_ADDR).toBe("ipv4:127.0.0.1:50052,127.0.0.1:50062");
  expect(catalog2.env!.MESH_TOPOLOGY).toBe(topologyFile);
  expect(plans.find((p) => p.name === "recommendation")!.cwd).toBe(`${repo}/services/recommendation`);
});

test("each TypeScript service starts with its semi-space and old-space cap (catalog's higher, auth's, cart's and payment's young generation smaller); all overridable", () => {
  const instances = buildInstances(topology, {});
  // The environment is passed in: an OLD_SPACE_MIB_* or SERVICE_NODE_FLAGS of the shell must not decide.
  const cmd = (name: string) => plan(topology, instances, {}).find((p) => p.name === name)!.command;
  expect(cmd("order").slice(1, 3)).toEqual(["--max-semi-space-size=32", "--max-old-space-size=128"]);
  expect(cmd("catalog").slice(1, 3)).toEqual(["--max-semi-space-size=32", "--max-old-space-size=512"]);
  for (const svc of ["auth", "cart", "payment"]) expect(cmd(svc).slice(1, 3)).toEqual(["--max-semi-space-size=8", "--max-old-space-size=128"]);
  expect(plan(topology, instances, {}).find((p) => p.name === "auth")!.env!.MALLOC_ARENA_MAX).toBe("2");
  // auth alone holds glibc's mmap threshold fixed (scrypt's buffers).
  const envOf = (name: string) => plan(topology, instances, {}).find((p) => p.name === name)!.env!;
  expect(envOf("auth").MALLOC_MMAP_THRESHOLD_).toBe("131072");
  expect(envOf("order").MALLOC_MMAP_THRESHOLD_).toBeUndefined();
  // ... and asks for transparent huge pages on those buffers, so each costs hundreds of page faults, not 4,096.
  expect(envOf("auth").GLIBC_TUNABLES).toBe("glibc.malloc.hugetlb=1");
  expect(envOf("order").GLIBC_TUNABLES).toBeUndefined();
  expect(nodeServiceFlags("order", { OLD_SPACE_MIB_order: "256" })).toEqual(["--max-semi-space-size=32", "--max-old-space-size=256"]);
  expect(nodeServiceFlags("order", { SERVICE_NODE_FLAGS: " --max-semi-space-size=16  --jitless " })).toEqual(["--max-semi-space-size=16", "--jitless"]);
  expect(() => nodeServiceFlags("order", { OLD_SPACE_MIB_order: "12" })).toThrow("OLD_SPACE_MIB_order=12: the old-space cap must be a whole number of MiB, at least 64");
  expect(() => nodeServiceFlags("order", { OLD_SPACE_MIB_order: "lots" })).toThrow("OLD_SPACE_MIB_order=lots");
  expect(nodeServiceFlags("cart", { SEMI_SPACE_MIB_cart: "16" })).toEqual(["--max-semi-space-size=16", "--max-old-space-size=128"]);
  expect(() => nodeServiceFlags("cart", { SEMI_SPACE_MIB_cart: "0" })).toThrow("SEMI_SPACE_MIB_cart=0: the semi-space must be a whole number of MiB, at least 1");
});

test("the nginx config has an exact location per RPC and an upstream server per replica", () => {
  const instances = buildInstances(topology, { catalog: 2 });
  const routes = buildRoutes(repo, topology);
  const conf = renderNginxConf(topology, routes, instances, { certDir, runDir: nginxDir, logDir }, false);
  const rpcs = Object.values(topology.services).reduce((n, s) => n + Object.keys(s.methods).length, 0);
  expect(routes).toHaveLength(rpcs);
  // Each upstream is verified against its own service's name (issue 14), never a shared one.
  for (const r of routes) expect(conf).toContain(`location = ${r.path} {\n      grpc_pass grpcs://${r.service};\n      grpc_ssl_name ${r.service};`);
  expect(conf).not.toContain("grpc_ssl_name localhost");
  expect(conf).toContain("server 127.0.0.1:50052 max_fails=0;\n    server 127.0.0.1:50062 max_fails=0;");
  expect(conf).toContain(`listen ${topology.edge.host}:${topology.edge.port} http2;`);
  expect(conf).not.toContain("user root;");
  // Reflection and health go to catalog, which reflects every service; no process of their own.
  for (const prefix of ["/grpc.reflection.", "/grpc.health.v1.Health/"]) {
    expect(conf).toContain(`location ^~ ${prefix} {\n      grpc_pass grpcs://catalog;\n      grpc_ssl_name catalog;\n    }`);
  }
  expect(conf).not.toContain("reflector");
});
