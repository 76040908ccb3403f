// mesh/topology.json, typed for the checks: the single table of services, ports and callers.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./render.js";

/** Access rule of one method. */
export interface MethodRule {
  callers: string[];
  public?: boolean;
  roles?: string[];
}

/** One service of the topology. */
export interface TopologyService {
  port: number;
  adminPort: number;
  grpcServices: string[];
  methods: Record<string, MethodRule>;
}

/** The parts of mesh/topology.json the checks read. */
export interface Topology {
  namespace: string;
  services: Record<string, TopologyService>;
  infrastructureMethods: { prefixes: string[] };
}

/** Reads mesh/topology.json. */
export function loadTopology(path = join(repoRoot, "mesh", "topology.json")): Topology {
  return JSON.parse(readFileSync(path, "utf8")) as Topology;
}

/** The Istio principal of a topology caller: "edge" is the ingress gateway's service account. */
export function principalOf(caller: string, namespace: string): string {
  return caller === "edge"
    ? "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"
    : `cluster.local/ns/${namespace}/sa/${caller}`;
}

/** The topology service a Kubernetes host name points at ("cart", "cart.shop", "cart.shop.svc.cluster.local"). */
export function serviceOfHost(host: string, topo: Topology): string | undefined {
  const [name, ns, ...rest] = host.split(".");
  if (ns !== undefined && ns !== topo.namespace) return undefined;
  if (rest.length > 0 && rest.join(".") !== "svc.cluster.local") return undefined;
  return name !== undefined && name in topo.services ? name : undefined;
}
