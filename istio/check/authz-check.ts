// Checks the security component against mesh/topology.json: the AuthorizationPolicies must allow
// exactly the topology's caller table (principals per method, a JWT on non-public methods, roles),
// behind a deny-all and STRICT mTLS, and name only real RPCs.
import type { Topology } from "@shopmesh/mesh";
import { describe, type Manifest } from "./render.js";
import type { RpcIndex } from "./rpc-index.js";
import { principalOf } from "./topology.js";

interface Source { principals?: string[]; requestPrincipals?: string[]; namespaces?: string[] }
interface Operation { paths?: string[]; ports?: string[]; methods?: string[] }
interface Rule {
  from?: { source: Source }[];
  to?: { operation: Operation }[];
  when?: { key: string; values?: string[] }[];
}
interface PolicySpec { selector?: { matchLabels?: Record<string, string> }; action?: string; rules?: Rule[] }

/** What the policies grant on one path of one workload. */
interface Grant { principal: string; jwt: boolean; roles: string[] }

const JWKS_PATH = "/.well-known/jwks.json";

/** Lists every authorization problem of the rendered manifests; empty when all hold. */
export function checkAuthorization(manifests: Manifest[], rpcs: RpcIndex, topo: Topology): string[] {
  const problems: string[] = [];
  const policies = manifests.filter((m) => m.kind === "AuthorizationPolicy");
  const peer = manifests.filter((m) => m.kind === "PeerAuthentication");
  if (!peer.some((p) => !(p.spec as { selector?: unknown }).selector
    && (p.spec as { mtls?: { mode?: string } }).mtls?.mode === "STRICT")) {
    problems.push(`no namespace-wide PeerAuthentication with mtls STRICT in ${topo.namespace}`);
  }
  if (!policies.some((p) => isDenyAll(p.spec as PolicySpec | undefined))) {
    problems.push(`no deny-all AuthorizationPolicy (spec: {}) in ${topo.namespace}`);
  }
  for (const [name, svc] of Object.entries(topo.services)) {
    const grants = new Map<string, Grant[]>();
    for (const p of policies) {
      const spec = (p.spec ?? {}) as PolicySpec;
      if (spec.selector?.matchLabels?.app !== name) continue;
      if ((spec.action ?? "ALLOW") !== "ALLOW") continue;
      collectGrants(p, spec, name, svc.adminPort, svc.grpcServices, rpcs, topo, grants, problems);
    }
    for (const [method, rule] of Object.entries(svc.methods)) {
      const path = `/${method}`;
      const given = grants.get(path) ?? [];
      const expected = new Set(rule.callers.map((c) => principalOf(c, topo.namespace)));
      const actual = new Set(given.map((g) => g.principal));
      for (const p of expected) {
        if (!actual.has(p)) problems.push(`${name}: no AuthorizationPolicy lets ${p} call ${path}, which the topology allows`);
      }
      for (const p of actual) {
        if (!expected.has(p)) problems.push(`${name}: an AuthorizationPolicy lets ${p} call ${path}; the topology does not`);
      }
      for (const g of given) {
        if (g.jwt === Boolean(rule.public)) {
          problems.push(`${name}: ${path} for ${g.principal} ${rule.public ? "requires a JWT but is public" : "is allowed without a JWT but is not public"}`);
        }
        const want = [...(rule.roles ?? [])].sort().join(",");
        if ([...g.roles].sort().join(",") !== want) {
          problems.push(`${name}: ${path} for ${g.principal} requires roles [${g.roles.join(",")}], the topology [${want}]`);
        }
      }
    }
  }
  return problems;
}

function isDenyAll(spec: PolicySpec | undefined): boolean {
  return !spec || (!spec.selector && (spec.action ?? "ALLOW") === "ALLOW" && (spec.rules ?? []).length === 0);
}

function collectGrants(p: Manifest, spec: PolicySpec, name: string, adminPort: number,
  grpcServices: string[], rpcs: RpcIndex, topo: Topology, grants: Map<string, Grant[]>,
  problems: string[]): void {
  (spec.rules ?? []).forEach((rule, i) => {
    const where = `${describe(p)} rules[${i}]`;
    const roles = (rule.when ?? []).filter((w) => w.key === "request.auth.claims[roles]")
      .flatMap((w) => w.values ?? []);
    // No "from" means any caller; no principals in a source means any principal.
    const sources = rule.from?.map((f) => f.source) ?? [{}];
    const ops = rule.to?.map((t) => t.operation) ?? [{}];
    for (const op of ops) {
      const paths = op.paths ?? ["*"];
      for (const path of paths) {
        if (path === JWKS_PATH && name === "auth" && (op.ports ?? []).every((x) => x === String(adminPort))
          && (op.ports ?? []).length > 0) {
          continue; // auth's public keys on its admin port: open by design (istiod has no identity).
        }
        if (topo.infrastructureMethods.prefixes.some((pre) => path === `${pre}*`)) {
          for (const s of sources) {
            for (const pr of s.principals ?? ["*"]) {
              if (!pr.startsWith(`cluster.local/ns/${topo.namespace}/`)) {
                problems.push(`${where}: health and reflection are for mesh workloads only, not ${pr}`);
              }
            }
          }
          continue;
        }
        const rpc = rpcs.rpcs.get(path);
        if (!rpc) {
          problems.push(`${where}: allows ${path}, which is not a method in the contracts`);
          continue;
        }
        if (!grpcServices.includes(rpc.service)) {
          problems.push(`${where}: allows ${path} on ${name}, which does not serve ${rpc.service}`);
          continue;
        }
        for (const s of sources) {
          const jwt = (s.requestPrincipals ?? []).length > 0;
          for (const principal of s.principals ?? ["*"]) {
            const list = grants.get(path) ?? [];
            list.push({ principal, jwt, roles });
            grants.set(path, list);
          }
        }
      }
    }
  });
}
