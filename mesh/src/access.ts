// Per-method access rules compiled from mesh/topology.json into a path-keyed map, so the hot path is
// one Map lookup. Methods not in the table are denied: a new RPC must be added to topology.json first.
import type { Topology } from "./topology.js";

/** The compiled rule of one gRPC path. */
export interface AccessRule {
  /** Identities allowed to call (mTLS / sidecar identity), or "any" for infrastructure methods. */
  callers: ReadonlySet<string> | "any";
  /** No end-user JWT needed. */
  public: boolean;
  /** If non-empty, the JWT must carry one of these roles. */
  roles: readonly string[];
}

const infrastructureRule: AccessRule = { callers: "any", public: true, roles: [] };

/** Access rules keyed by gRPC path ("/pkg.Service/Method"). */
export interface AccessTable {
  /** The rule for `path`; undefined means the method is unknown to the topology (deny). */
  rule(path: string): AccessRule | undefined;
}

/** Compiles every service's method rules (not only one service's: a process may host several). */
export function createAccessTable(topology: Topology): AccessTable {
  const rules = new Map<string, AccessRule>();
  for (const svc of Object.values(topology.services)) {
    for (const [method, r] of Object.entries(svc.methods)) {
      rules.set(`/${method}`, { callers: new Set(r.callers), public: r.public === true, roles: r.roles ?? [] });
    }
  }
  const prefixes = topology.infrastructureMethods?.prefixes ?? [];
  return {
    rule(path) {
      const r = rules.get(path);
      if (r !== undefined) return r;
      for (const p of prefixes) if (path.startsWith(p)) return infrastructureRule;
      return undefined;
    },
  };
}
