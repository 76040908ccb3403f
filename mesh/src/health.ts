// grpc.health.v1 Check and Watch (grpc-health-check on grpc-js), per hosted service plus "" for the
// whole server. serve() flips every entry to NOT_SERVING when draining starts.
import { HealthImplementation, type ServingStatus } from "grpc-health-check";
import type { Server } from "@grpc/grpc-js";

/** Health of one server. */
export interface MeshHealth {
  /** Sets SERVING/NOT_SERVING for the server ("") and every hosted service. */
  setServing(serving: boolean): void;
  /** Sets one service's status. */
  setStatus(service: string, status: ServingStatus): void;
  /** True while the server reports SERVING. */
  readonly serving: boolean;
}

/** Registers grpc.health.v1 on `server` for `services`, initially NOT_SERVING until bound. */
export function addHealth(server: Server, services: readonly string[]): MeshHealth {
  const names = ["", ...services];
  const impl = new HealthImplementation(Object.fromEntries(names.map((n) => [n, "NOT_SERVING" as const])));
  impl.addToServer(server);
  let serving = false;
  return {
    setServing(on) {
      serving = on;
      for (const n of names) impl.setStatus(n, on ? "SERVING" : "NOT_SERVING");
    },
    setStatus(service, status) {
      impl.setStatus(service, status);
    },
    get serving() {
      return serving;
    },
  };
}
