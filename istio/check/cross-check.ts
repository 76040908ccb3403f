// The whole cross-check of rendered manifests against the contracts and the topology.
import type { Topology } from "@shopmesh/mesh";
import type { Manifest } from "./render.js";
import { checkAuthorization } from "./authz-check.js";
import type { RpcIndex } from "./rpc-index.js";
import { checkRouting } from "./routing-check.js";
import { checkWorkloads } from "./workload-check.js";

/** Lists every problem of one rendered overlay: routing, authorization and workloads. */
export function crossCheck(manifests: Manifest[], rpcs: RpcIndex, topo: Topology): string[] {
  return [
    ...checkRouting(manifests, rpcs, topo),
    ...checkAuthorization(manifests, rpcs, topo),
    ...checkWorkloads(manifests, topo),
  ];
}
