// Checks the VirtualServices and DestinationRules against the contracts and the topology: paths
// name real RPCs and reach the service that hosts them, subsets exist, retries use conditions
// Envoy knows and sit only on idempotent methods, and every method is routed.
import type { Topology } from "@shopmesh/mesh";
import { describe, type Manifest } from "./render.js";
import type { RpcIndex } from "./rpc-index.js";
import { serviceOfHost } from "./topology.js";

interface StringMatch { exact?: string; prefix?: string; regex?: string }
interface HttpMatch { uri?: StringMatch; headers?: Record<string, StringMatch> }
interface Destination { host: string; subset?: string; port?: { number?: number } }
interface HttpRoute {
  name?: string;
  match?: HttpMatch[];
  route?: { destination: Destination; weight?: number }[];
  retries?: { attempts?: number; perTryTimeout?: string; retryOn?: string };
  timeout?: string;
  fault?: unknown;
}
interface VirtualServiceSpec { hosts?: string[]; gateways?: string[]; http?: HttpRoute[] }
interface DestinationRuleSpec { host: string; subsets?: { name: string }[] }

// Envoy's retry conditions (x-envoy-retry-on and x-envoy-retry-grpc-on), as Istio accepts them.
const RETRY_ON = new Set(["5xx", "gateway-error", "reset", "reset-before-request", "connect-failure",
  "envoy-ratelimited", "retriable-4xx", "refused-stream", "retriable-status-codes",
  "retriable-headers", "http3-post-connect-failure", "cancelled", "deadline-exceeded", "internal",
  "resource-exhausted", "unavailable"]);

/** Which VirtualServices were seen, for the coverage checks. */
interface Coverage {
  /** Paths routed by mesh (sidecar) VirtualServices, by topology service; "*" = a catch-all. */
  mesh: Map<string, Set<string>>;
  /** Paths routed through the ingress gateway. */
  edge: Set<string>;
}

/** Lists every routing problem of the rendered manifests; empty when all hold. */
export function checkRouting(manifests: Manifest[], rpcs: RpcIndex, topo: Topology): string[] {
  const problems: string[] = [];
  const subsets = new Map<string, Set<string>>();
  for (const m of manifests.filter((x) => x.kind === "DestinationRule")) {
    const spec = m.spec as DestinationRuleSpec;
    const svc = serviceOfHost(spec.host, topo) ?? spec.host;
    const names = subsets.get(svc) ?? new Set<string>();
    for (const s of spec.subsets ?? []) names.add(s.name);
    subsets.set(svc, names);
  }
  const cov: Coverage = { mesh: new Map(), edge: new Set() };
  for (const vs of manifests.filter((x) => x.kind === "VirtualService")) {
    checkVirtualService(vs, rpcs, topo, subsets, cov, problems);
  }
  // Every contract method is routed inside the mesh; every method the edge may call, at the edge.
  for (const [name, svc] of Object.entries(topo.services)) {
    const routed = cov.mesh.get(name);
    for (const rpc of [...rpcs.rpcs.values()].filter((r) => svc.grpcServices.includes(r.service))) {
      if (!routed || !(routed.has(rpc.path) || routed.has("*") || routed.has(`/${rpc.service}/`))) {
        problems.push(`${rpc.path} is not routed by any mesh VirtualService for ${name}`);
      }
    }
    for (const [method, rule] of Object.entries(svc.methods)) {
      if (rule.callers.includes("edge") && !cov.edge.has(`/${method}`)) {
        problems.push(`/${method} may be called by the edge but no gateway VirtualService routes it`);
      }
    }
  }
  for (const service of rpcs.services) {
    if (!Object.values(topo.services).some((s) => s.grpcServices.includes(service))) {
      problems.push(`${service} is in the contracts but no topology service hosts it`);
    }
  }
  return problems;
}

function checkVirtualService(vs: Manifest, rpcs: RpcIndex, topo: Topology,
  subsets: Map<string, Set<string>>, cov: Coverage, problems: string[]): void {
  const spec = vs.spec as VirtualServiceSpec;
  const gateways = spec.gateways ?? ["mesh"];
  const atEdge = gateways.some((g) => g !== "mesh");
  const atMesh = gateways.includes("mesh");
  (spec.http ?? []).forEach((route, i) => {
    const where = `${describe(vs)} http[${i}]${route.name ? ` (${route.name})` : ""}`;
    const dests = route.route ?? [];
    const targets = new Set<string>();
    for (const { destination: d } of dests) {
      const svc = serviceOfHost(d.host, topo);
      if (!svc) {
        problems.push(`${where}: destination ${d.host} is not a service of the topology`);
        continue;
      }
      targets.add(svc);
      if (d.subset !== undefined && !subsets.get(svc)?.has(d.subset)) {
        problems.push(`${where}: subset ${d.subset} of ${d.host} is not defined by any DestinationRule`);
      }
      if (d.port?.number !== undefined && d.port.number !== topo.services[svc]!.port) {
        problems.push(`${where}: port ${d.port.number} of ${d.host} is not its gRPC port ${topo.services[svc]!.port}`);
      }
    }
    // The paths this route covers: exact RPCs, whole services (prefix) or everything ("*").
    const matches = route.match ?? [{}];
    const covered: string[] = [];
    for (const m of matches) {
      const uri = m.uri;
      if (!uri) covered.push("*");
      else if (uri.exact !== undefined) {
        if (!rpcs.rpcs.has(uri.exact)) problems.push(`${where}: routes ${uri.exact}, which is not a method in the contracts`);
        covered.push(uri.exact);
      } else if (uri.prefix !== undefined) {
        const service = uri.prefix.replace(/^\/|\/$/g, "");
        if (!uri.prefix.endsWith("/") || !rpcs.services.has(service)) {
          problems.push(`${where}: prefix ${uri.prefix} is not a service of the contracts ("/pkg.Service/")`);
        }
        covered.push(uri.prefix);
      } else {
        problems.push(`${where}: a regex uri match cannot be checked against the contracts; use exact or prefix`);
        covered.push("*");
      }
    }
    // A path must reach the service that hosts it.
    for (const path of covered.filter((p) => p !== "*")) {
      const service = path.split("/")[1]!;
      for (const svc of targets) {
        if (!topo.services[svc]!.grpcServices.includes(service)) {
          problems.push(`${where}: sends ${path} to ${svc}, which does not serve ${service}`);
        }
      }
    }
    for (const svc of targets) {
      if (atMesh) {
        const set = cov.mesh.get(svc) ?? new Set<string>();
        for (const p of covered) set.add(p);
        cov.mesh.set(svc, set);
      }
    }
    if (atEdge) {
      for (const path of covered) {
        if (path === "*" || !rpcs.rpcs.has(path)) {
          problems.push(`${where}: the gateway may route exact methods only, not ${path}`);
          continue;
        }
        cov.edge.add(path);
        const svc = [...targets][0];
        const rule = svc ? topo.services[svc]!.methods[path.slice(1)] : undefined;
        if (!rule?.callers.includes("edge")) problems.push(`${where}: the gateway routes ${path}, which the edge may not call`);
      }
    }
    checkRetries(where, route, covered, rpcs, problems);
  });
}

function checkRetries(where: string, route: HttpRoute, covered: string[], rpcs: RpcIndex,
  problems: string[]): void {
  const r = route.retries;
  // No retries block means Istio's default: 2 attempts. Only attempts: 0 turns retries off.
  const retrying = r === undefined || r.attempts === undefined || r.attempts > 0;
  if (!retrying) return;
  if (r === undefined) {
    problems.push(`${where}: no retries block, so Istio retries twice by default; set attempts (0 to disable)`);
  } else {
    if (!r.perTryTimeout) problems.push(`${where}: retries without a perTryTimeout`);
    if (!r.retryOn) problems.push(`${where}: retries without retryOn`);
    for (const cond of (r.retryOn ?? "").split(",").map((c) => c.trim()).filter((c) => c !== "")) {
      if (!RETRY_ON.has(cond) && !/^\d{3}$/.test(cond)) {
        problems.push(`${where}: retryOn "${cond}" is not a retry condition Envoy knows`);
      }
    }
  }
  for (const path of covered) {
    const rpc = rpcs.rpcs.get(path);
    if (!rpc) {
      problems.push(`${where}: retries on ${path === "*" ? "every path" : path}, which is not one idempotent method; set attempts: 0`);
    } else if (!rpc.idempotent) {
      problems.push(`${where}: retries ${path}, which the contracts do not mark idempotent`);
    } else if (rpc.streaming) {
      problems.push(`${where}: retries the stream ${path}; a per-try timeout would cut it`);
    }
  }
}
