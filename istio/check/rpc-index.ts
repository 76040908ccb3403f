// The contracts as the checks need them: every RPC path with its idempotency and streaming,
// read from gen/shop.binpb (the FileDescriptorSet buf builds from proto/).
import { readFileSync } from "node:fs";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema, MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";

/** One RPC of the contracts. */
export interface Rpc {
  /** The HTTP/2 path, "/shop.cart.v1.CartService/GetCart". */
  path: string;
  /** Fully qualified service name, "shop.cart.v1.CartService". */
  service: string;
  /** NO_SIDE_EFFECTS or IDEMPOTENT: the only methods that may be retried. */
  idempotent: boolean;
  /** Server or client streaming: a retry or a route timeout would cut it. */
  streaming: boolean;
}

/** RPCs by path, and the set of shop gRPC services. */
export interface RpcIndex {
  rpcs: Map<string, Rpc>;
  services: Set<string>;
}

/** Indexes every shop.* RPC of a FileDescriptorSet file. */
export function loadRpcIndex(binpbPath: string): RpcIndex {
  const set = fromBinary(FileDescriptorSetSchema, readFileSync(binpbPath));
  const rpcs = new Map<string, Rpc>();
  const services = new Set<string>();
  for (const file of set.file.filter((f) => f.package.startsWith("shop."))) {
    for (const svc of file.service) {
      const service = `${file.package}.${svc.name}`;
      services.add(service);
      for (const m of svc.method) {
        const level = m.options?.idempotencyLevel ?? MethodOptions_IdempotencyLevel.IDEMPOTENCY_UNKNOWN;
        rpcs.set(`/${service}/${m.name}`, {
          path: `/${service}/${m.name}`,
          service,
          idempotent: level === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS
            || level === MethodOptions_IdempotencyLevel.IDEMPOTENT,
          streaming: Boolean(m.serverStreaming || m.clientStreaming),
        });
      }
    }
  }
  return { rpcs, services };
}
