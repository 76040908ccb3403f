// Every RPC of the contracts (gen/shop.binpb) joined with its row of the caller table
// (mesh/topology.json), so the security tests are generated from the same two sources the mesh
// enforces, and a new RPC is covered (or fails loudly for lack of a valid request) without edits.
import { readFileSync } from "node:fs";
import path from "node:path";
import { createFileRegistry, fromBinary, type DescMethod, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { status } from "@grpc/grpc-js";
import { loadTopology, type Topology } from "@shopmesh/mesh";
import type { ServiceName } from "./shop.js";

/** One RPC with its access rule. */
export interface Rpc {
  /** gRPC path, "/shop.cart.v1.CartService/AddItem". */
  path: string;
  /** "shop.cart.v1.CartService/AddItem", the topology key. */
  key: string;
  /** The mesh service that hosts it. */
  service: ServiceName;
  /** The method descriptor (input/output messages, streaming kind, idempotency). */
  method: DescMethod;
  /** Identities allowed to call it. */
  callers: string[];
  /** No JWT needed. */
  public: boolean;
  /** Roles the JWT must carry (any one). */
  roles: string[];
}

/** Every contract, gen/shop.binpb. */
export const descriptorSet = fromBinary(FileDescriptorSetSchema, readFileSync(path.resolve(import.meta.dirname, "../../gen/shop.binpb")));

/** The registry of every contract. */
export const registry: FileRegistry = createFileRegistry(descriptorSet);

/** The caller table. */
export const topology: Topology = loadTopology();

/** Every RPC in the contracts of the shop.* packages, in descriptor order. */
export function allRpcs(): Rpc[] {
  const out: Rpc[] = [];
  for (const t of registry) {
    if (t.kind !== "service" || !t.typeName.startsWith("shop.")) continue;
    const host = Object.entries(topology.services).find(([, s]) => s.grpcServices.includes(t.typeName));
    if (host === undefined) throw new Error(`${t.typeName} is in the contracts but no topology service hosts it`);
    for (const m of t.methods) {
      const key = `${t.typeName}/${m.name}`;
      const rule = host[1].methods[key];
      if (rule === undefined) throw new Error(`${key} has no row in mesh/topology.json`);
      out.push({ path: `/${key}`, key, service: host[0] as ServiceName, method: m, callers: rule.callers,
        public: rule.public === true, roles: rule.roles ?? [] });
    }
  }
  return out;
}

/** The caller identities of the matrix: every service, the edge, and a stranger no rule names. */
export const matrixIdentities: string[] = [...Object.keys(topology.services), "edge", "stranger"];

/**
 * The identity cells of one RPC, [variant, identity, expected code]: each allowed caller OK, every
 * other identity PermissionDenied, and a client without a certificate UNAVAILABLE (grpc-js reports
 * a TLS handshake the server refused so).
 */
export function identityCells(rpc: Rpc): [string, string | undefined, number][] {
  return [
    ...rpc.callers.map((c): [string, string, number] => [c, c, status.OK]),
    ...matrixIdentities.filter((i) => !rpc.callers.includes(i)).map((i): [string, string, number] => [i, i, status.PERMISSION_DENIED]),
    ["no-client-cert", undefined, status.UNAVAILABLE],
  ];
}
