// The files istio mode needs before anything starts, all under .run/istio: the rendered overlay
// (the same `kustomize build` as make validate), istiod's config and mesh config, a working
// directory per proxy with its certificates, and the Secrets a cluster would hold.
import { execFileSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { makeDevCerts, type Topology } from "@shopmesh/mesh";
import { repo } from "../paths.js";
import { GATEWAY_ACCOUNT, GATEWAY_NAMESPACE, type Manifest, type Workload } from "./render.js";
import { ISTIO_TRUST_DOMAIN, istioCertDir, istioConfigDir, meshConfigFile, meshConfigYaml, proxiesDir, secretsDir } from "./plan.js";

/** The overlay `make up MESH=istio` runs: what a cluster gets from `kubectl apply -k`. */
export const OVERLAY = "istio/overlays/default";

/** What istio mode needs from .bin/, and the command that installs each. */
const TOOLS: [string, string][] = [
  ["istiod-local", "bash tools/setup.sh istio-agents"], ["pilot-agent", "bash tools/setup.sh istio-agents"],
  ["istio/envoy_bootstrap_tmpl.json", "bash tools/setup.sh istio-agents"], ["envoy", "bash tools/setup.sh envoy"],
  ["kustomize", "make setup"], ["yaml2json", "make .bin/yaml2json"],
];

/** Refuses, naming the step, when a tool is missing (make up MESH=istio installs them first). */
export function checkTools(): void {
  const missing = TOOLS.filter(([f]) => !existsSync(join(repo, ".bin", f)));
  if (missing.length > 0) {
    throw new Error(`istio mode needs ${missing.map(([f]) => `.bin/${f}`).join(", ")}: run ${[...new Set(missing.map(([, s]) => s))].join(" and ")}`);
  }
}

/**
 * Every object `kustomize build <dir>` renders (dir relative to the repo), through yaml2json, the
 * tiny Go program in istio/check (no YAML parser is a dependency). A broken tree fails here, with
 * kustomize's message. make validate's checks (istio/check/render.ts) render with it too.
 */
export function renderManifests(dir: string): Manifest[] {
  for (const tool of ["kustomize", "yaml2json"]) {
    if (!existsSync(join(repo, ".bin", tool))) throw new Error(`.bin/${tool} is missing: run make validate (it builds it)`);
  }
  const run = (cmd: string, args: string[], input?: Buffer) => {
    try {
      return execFileSync(join(repo, ".bin", cmd), args, { input, maxBuffer: 64 << 20, stdio: ["pipe", "pipe", "pipe"] });
    } catch (err) {
      const stderr = String((err as { stderr?: Buffer }).stderr ?? "").trim();
      throw new Error(`${cmd} refused ${dir}: ${stderr || (err as Error).message}`);
    }
  };
  return JSON.parse(run("yaml2json", [], run("kustomize", ["build", join(repo, dir)])).toString("utf8")) as Manifest[];
}

/** Writes istiod's config (one file, JSON documents, which are YAML) and its mesh config, only when they changed. */
export function writeIstiodConfig(config: Manifest[]): void {
  mkdirSync(istioConfigDir, { recursive: true });
  const write = (file: string, text: string) => {
    if (!existsSync(file) || readFileSync(file, "utf8") !== text) writeFileSync(file, text);
  };
  write(join(istioConfigDir, "shop.yaml"), `${config.map((o) => JSON.stringify(o)).join("\n---\n")}\n`);
  write(meshConfigFile, meshConfigYaml());
}

/**
 * A certificate per service account from istio mode's own dev CA, with the SPIFFE id Istio gives
 * a pod (spiffe://cluster.local/ns/<ns>/sa/<sa>), in each proxy's ./etc/certs as pilot-agent reads
 * them with FILE_MOUNTED_CERTS.
 */
export function writeProxyCerts(topology: Topology, workloads: Workload[]): void {
  const accounts = [...new Set([...workloads.map((w) => w.serviceAccount), GATEWAY_ACCOUNT])];
  makeDevCerts(istioCertDir, accounts, { trustDomain: ISTIO_TRUST_DOMAIN, namespace: topology.namespace,
    namespaceOf: { [GATEWAY_ACCOUNT]: GATEWAY_NAMESPACE } });
  for (const [pod, sa] of [...workloads.map((w) => [w.pod, w.serviceAccount]), ["istio-ingressgateway-0", GATEWAY_ACCOUNT]]) {
    const dir = join(proxiesDir, pod!, "etc", "certs");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Only what changed: pilot-agent watches these files and pushes every write to its Envoy.
    for (const [from, to] of [[`${sa}.pem`, "cert-chain.pem"], [`${sa}-key.pem`, "key.pem"], ["ca.pem", "root-cert.pem"]]) {
      const src = join(istioCertDir, from!);
      const dst = join(dir, to!);
      if (!existsSync(dst) || !readFileSync(src).equals(readFileSync(dst))) copyFileSync(src, dst);
    }
  }
}

/**
 * The Secrets the manifests name (docs/kubernetes.md tells a cluster's operator to create them),
 * made once per machine under .run/istio/secrets/<secret>/<key>, 0600, never printed: a .pem key is
 * an ES256 (P-256) private key, anything else 32 random bytes in hex.
 */
export const localSecrets = {
  file(ref: string): string {
    const file = join(secretsDir, ref);
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      const value = ref.endsWith(".pem")
        ? generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString()
        : randomBytes(32).toString("hex");
      writeFileSync(file, value, { mode: 0o600, flag: "wx" });
    }
    return file;
  },
  value(ref: string): string {
    return readFileSync(localSecrets.file(ref), "utf8").trim();
  },
};
