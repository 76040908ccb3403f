// The Istio names the checks derive from mesh/topology.json. The Topology type, its loader and its
// schema check are the runtime's (mesh/src/topology.ts), the same the services and the runner read.
import type { Topology } from "@shopmesh/mesh";

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
