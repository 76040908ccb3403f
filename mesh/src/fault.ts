// A fault knob on one replica, for proving what a mesh does with a failing or slow upstream
// (Envoy's retries, route timeouts, outlier detection and connection-pool limits: test/istio).
// MESH_FAULT_UNAVAILABLE_RATE answers that share of unary calls UNAVAILABLE, after admission and
// before the handler, so nothing is written; MESH_FAULT_DELAY_MS holds every unary call that long
// first. Both are 0 (off) unless set. Health and reflection never see a fault: a probe must still
// tell a live replica from a dead one.
import { Code, ConnectError } from "@connectrpc/connect";
import { num, int, parseSettings } from "./settings.js";

export interface FaultConfig {
  /** Share 0..1 of unary calls answered UNAVAILABLE. */
  unavailableRate: number;
  /** Every unary call waits this long before it runs (or fails), ms. */
  delayMs: number;
}

const schema = {
  unavailableRate: { env: "MESH_FAULT_UNAVAILABLE_RATE", def: "0", doc: "share 0..1 of unary calls answered UNAVAILABLE (a test knob)", parse: num(0, 1) },
  delayMs: { env: "MESH_FAULT_DELAY_MS", def: "0", doc: "delay before every unary call, ms (a test knob)", parse: int(0, 600_000) },
};

/** The fault knob from the environment; a bad value stops the start, naming the variable. */
export function parseFault(env: Record<string, string | undefined>): FaultConfig {
  return parseSettings("mesh", schema, env);
}

/** True when the knob does nothing (the default): serve() then adds no work per call. */
export function faultOff(f: FaultConfig): boolean {
  return f.unavailableRate === 0 && f.delayMs === 0;
}

/**
 * Applies the knob to one call: waits delayMs (ending early with the call's signal), then throws
 * UNAVAILABLE with probability unavailableRate. `random` is injectable for tests.
 */
export async function injectFault(f: FaultConfig, signal: AbortSignal, random: () => number = Math.random): Promise<void> {
  if (f.delayMs > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, f.delayMs);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    });
    signal.throwIfAborted();
  }
  if (f.unavailableRate > 0 && random() < f.unavailableRate) {
    throw new ConnectError("fault injected by MESH_FAULT_UNAVAILABLE_RATE", Code.Unavailable);
  }
}
