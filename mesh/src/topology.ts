// mesh/topology.json: the one routing and access table. Its one type, its one loader and its one
// schema check live here. The runtime enforces it (access.ts, identity.ts), the runner renders the
// nginx edge from it (runner/src/render/nginx.ts), and istio/check cross-checks the manifests
// against it. A bad file fails at load with the file and the field at fault, e.g.
// "mesh/topology.json: services.cart.port must be an integer".
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Access rules of one RPC. */
export interface MethodRule {
  /** Identities allowed to call: "edge" or service names. */
  callers: string[];
  /** True when the method needs no end-user JWT. */
  public?: boolean;
  /** Roles the JWT must carry (any of them). */
  roles?: string[];
}

/** Where something listens on the one machine. */
export interface Address {
  host: string;
  port: number;
}

/** One service of the topology. */
export interface TopologyService {
  /** gRPC port in the local mesh. */
  port: number;
  /** Admin HTTP port (/metrics, /healthz) in the local mesh. */
  adminPort: number;
  /** Implementation language: the runner starts a TS build or a Python package. */
  language: "ts" | "python";
  /** Fully qualified gRPC service names it hosts. */
  grpcServices: string[];
  /** Rules keyed by "pkg.Service/Method". */
  methods: Record<string, MethodRule>;
}

/** mesh/topology.json. */
export interface Topology {
  /** SPIFFE trust domain, e.g. "shop.local". */
  trustDomain: string;
  /** Kubernetes namespace in the SPIFFE id. */
  namespace: string;
  /** The ingress (nginx locally). */
  edge: Address;
  /** Local data stores. */
  stores: { ferretdb: Address; redis: Address };
  /** Services keyed by name. */
  services: Record<string, TopologyService>;
  /** Paths any mesh identity may call without a JWT (health, reflection). */
  infrastructureMethods: { prefixes: string[] };
}

/** Path of mesh/topology.json (works from src/ under jest and from dist/ after a build). */
export const defaultTopologyPath = fileURLToPath(new URL("../topology.json", import.meta.url));

/** Reads a topology file and checks it (checkTopology); errors name the file as seen from the cwd. */
export function loadTopology(file: string = defaultTopologyPath): Topology {
  const rel = path.relative(process.cwd(), file);
  const label = rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : file;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${label}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return checkTopology(raw, label);
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** `services.cart`, or `methods["shop.cart.v1.CartService/AddItem"]` for keys that are not names. */
const at = (parent: string, key: string | number): string =>
  typeof key === "number" ? `${parent}[${key}]`
    : /^[A-Za-z_][\w]*$/.test(key) ? (parent === "" ? key : `${parent}.${key}`) : `${parent}[${JSON.stringify(key)}]`;

/**
 * Checks that `value` is a topology and returns it typed. Throws one error that names `source` and
 * every field at fault ("<source>: <field> <problem>; ..."). Keys starting with "$" are comments.
 */
export function checkTopology(value: unknown, source: string): Topology {
  const issues: string[] = [];
  const bad = (field: string, problem: string) => issues.push(field === "" ? problem : `${field} ${problem}`);

  /** True when `v` is an object; flags the keys not in `known` (any key goes without it). */
  const object = (v: unknown, field: string, known?: readonly string[]): v is Json => {
    if (!isObject(v)) { bad(field, "must be an object"); return false; }
    for (const k of Object.keys(v)) if (known && !k.startsWith("$") && !known.includes(k)) bad(at(field, k), "is not a known field");
    return true;
  };
  const string = (v: unknown, field: string) => {
    if (typeof v !== "string" || v === "") bad(field, "must be a non-empty string");
  };
  /** True when `v` is an array of non-empty strings; flags each element that is not one. */
  const strings = (v: unknown, field: string): v is string[] => {
    if (!Array.isArray(v)) { bad(field, "must be an array of strings"); return false; }
    const before = issues.length;
    v.forEach((s, i) => string(s, at(field, i)));
    return issues.length === before;
  };
  const port = (v: unknown, field: string) => {
    if (!Number.isInteger(v)) bad(field, "must be an integer");
    else if ((v as number) < 1 || (v as number) > 65535) bad(field, "must be a port number (1 to 65535)");
  };
  const address = (v: unknown, field: string) => {
    if (!object(v, field, ["host", "port"])) return;
    string(v.host, at(field, "host"));
    port(v.port, at(field, "port"));
  };

  if (object(value, "", ["trustDomain", "namespace", "edge", "stores", "services", "infrastructureMethods"])) {
    string(value.trustDomain, "trustDomain");
    string(value.namespace, "namespace");
    address(value.edge, "edge");
    if (object(value.stores, "stores", ["ferretdb", "redis"])) {
      address(value.stores.ferretdb, "stores.ferretdb");
      address(value.stores.redis, "stores.redis");
    }
    if (object(value.infrastructureMethods, "infrastructureMethods", ["prefixes"])) {
      strings(value.infrastructureMethods.prefixes, "infrastructureMethods.prefixes");
    }
    if (object(value.services, "services")) {
      const names = Object.keys(value.services);
      for (const name of names) checkService(value.services[name], at("services", name), name, names, { bad, object, strings, port });
    }
  }
  if (issues.length > 0) throw new Error(`${source}: ${issues.join("; ")}`);
  return value as unknown as Topology;
}

interface Checks {
  bad(field: string, problem: string): void;
  object(v: unknown, field: string, known?: readonly string[]): v is Json;
  strings(v: unknown, field: string): v is string[];
  port(v: unknown, field: string): void;
}

function checkService(v: unknown, field: string, name: string, names: string[], c: Checks): void {
  // The name becomes a certificate, <NAME>_ADDR variables and replica names such as catalog-2.
  if (!/^[a-z]+$/.test(name)) c.bad(field, "is not a service name (lower-case letters only)");
  if (!c.object(v, field, ["port", "adminPort", "language", "grpcServices", "methods"])) return;
  c.port(v.port, at(field, "port"));
  c.port(v.adminPort, at(field, "adminPort"));
  if (v.language !== "ts" && v.language !== "python") c.bad(at(field, "language"), 'must be "ts" or "python"');
  const hosted = c.strings(v.grpcServices, at(field, "grpcServices")) ? v.grpcServices : undefined;
  if (!c.object(v.methods, at(field, "methods"))) return;
  for (const [key, rule] of Object.entries(v.methods)) {
    const rf = at(at(field, "methods"), key);
    const slash = key.lastIndexOf("/");
    if (hosted && (slash <= 0 || slash === key.length - 1 || !hosted.includes(key.slice(0, slash)))) {
      c.bad(rf, "is not a <grpcService>/<Method> of this service's grpcServices");
    }
    if (!c.object(rule, rf, ["callers", "public", "roles"])) continue;
    if (c.strings(rule.callers, at(rf, "callers"))) {
      rule.callers.forEach((caller, i) => {
        if (caller !== "edge" && !names.includes(caller)) c.bad(at(at(rf, "callers"), i), `names no service ("${caller}")`);
      });
    }
    if (rule.public !== undefined && typeof rule.public !== "boolean") c.bad(at(rf, "public"), "must be true or false");
    if (rule.roles !== undefined) c.strings(rule.roles, at(rf, "roles"));
  }
}
