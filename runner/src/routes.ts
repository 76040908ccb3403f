// The routing table of the one-machine mesh, derived from mesh/topology.json (who serves what,
// on which ports) and gen/shop.binpb (which methods exist and which are safe to retry). The nginx
// edge is rendered from it; istio/ is cross-checked against the same two files.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema, MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import type { Topology } from "@shopmesh/mesh";

/** One RPC as the edge routes it. */
export interface Route {
  /** The gRPC path, "/shop.cart.v1.CartService/AddItem". */
  path: string;
  /** The topology service that serves it, e.g. "cart". */
  service: string;
  /** NO_SIDE_EFFECTS or IDEMPOTENT: the edge may retry it on another replica. */
  idempotent: boolean;
  /** Server streaming: the edge keeps it open for long. */
  streaming: boolean;
}

/** A process of the local mesh and where it listens. */
export interface Instance {
  /** "catalog" or, for extra replicas, "catalog-2". */
  name: string;
  /** The topology service it belongs to. */
  service: string;
  port: number;
  adminPort: number;
}

/** Extra replicas listen this far above the first one's ports (catalog-2: 50062 and 9102). */
export const REPLICA_PORT_STEP = 10;

/** The service that answers reflection (of every service) and health at the edge, in both modes. */
export const REFLECTION_SERVICE = "catalog";
/** The path prefixes the edge sends to it. */
export const REFLECTION_PREFIXES = ["/grpc.reflection.", "/grpc.health.v1.Health/"] as const;

/** Every RPC of every service in the topology, checked against the contracts. */
export function buildRoutes(repoRoot: string, topology: Topology): Route[] {
  const set = fromBinary(FileDescriptorSetSchema, readFileSync(join(repoRoot, "gen", "shop.binpb")));
  const registry = createFileRegistry(set);
  const routes: Route[] = [];
  for (const [service, spec] of Object.entries(topology.services)) {
    for (const typeName of spec.grpcServices) {
      const desc = registry.getService(typeName);
      if (!desc) throw new Error(`topology: ${service} serves ${typeName}, which no contract defines`);
      for (const method of desc.methods) {
        const path = `/${typeName}/${method.name}`;
        if (!spec.methods[`${typeName}/${method.name}`]) {
          throw new Error(`topology: ${path} has no access entry under services.${service}.methods`);
        }
        routes.push({
          path, service,
          idempotent: method.idempotency !== MethodOptions_IdempotencyLevel.IDEMPOTENCY_UNKNOWN,
          streaming: method.methodKind === "server_streaming",
        });
      }
    }
    for (const key of Object.keys(spec.methods)) {
      if (!routes.some((r) => r.path === `/${key}`)) throw new Error(`topology: ${key} is not a method of the contracts`);
    }
  }
  return routes;
}

/** The processes to run: one per service, plus replicas, e.g. { catalog: 2 }. */
export function buildInstances(topology: Topology, replicas: Record<string, number>): Instance[] {
  const out: Instance[] = [];
  for (const [service, spec] of Object.entries(topology.services)) {
    const n = Math.max(1, replicas[service] ?? 1);
    for (let i = 0; i < n; i++) {
      out.push({
        name: i === 0 ? service : `${service}-${i + 1}`, service,
        port: spec.port + i * REPLICA_PORT_STEP, adminPort: spec.adminPort + i * REPLICA_PORT_STEP,
      });
    }
  }
  return out;
}
