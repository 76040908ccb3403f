// Dev PKI for the one-machine mesh: a local CA and one ECDSA P-256 certificate per identity, with the
// SPIFFE URI SAN that Istio would give the workload, so local mTLS checks the same identities.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { X509Certificate, randomBytes } from "node:crypto";
import path from "node:path";

/** Trust domain and namespace that make up the SPIFFE ids in the certificates. */
export interface DevCertTrust {
  /** SPIFFE trust domain; default "shop.local". */
  trustDomain: string;
  /** Namespace path segment; default "shop". */
  namespace: string;
  /** Identities in another namespace (Istio's ingress gateway lives in istio-system): name → namespace. */
  namespaceOf?: Record<string, string>;
}

const defaultTrust: DevCertTrust = { trustDomain: "shop.local", namespace: "shop" };

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/**
 * Creates (idempotently) `ca.pem`/`ca-key.pem` and `<name>.pem`/`<name>-key.pem` for every name in `dir`.
 * Each leaf has SAN URI spiffe://<trustDomain>/ns/<namespace>/sa/<name> and DNS <name>, and nothing
 * more: no localhost or 127.0.0.1 that every leaf would share, so a client that verifies the name
 * it expects (the mesh client, the edge, the runner's probe) knows which service it reached.
 */
export function makeDevCerts(dir: string, names: readonly string[], trust: DevCertTrust = defaultTrust): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caFresh = !(existsSync(path.join(dir, "ca.pem")) && existsSync(path.join(dir, "ca-key.pem")));
  if (caFresh) {
    // Files are written under temporary names and renamed, so a concurrent reader never sees half a CA.
    const tag = randomBytes(4).toString("hex");
    openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `ca-key.${tag}`], dir);
    openssl(["req", "-x509", "-new", "-key", `ca-key.${tag}`, "-sha256", "-days", "3650",
      "-subj", "/O=shopmesh/CN=shopmesh dev CA",
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
      "-out", `ca.${tag}`], dir);
    renameSync(path.join(dir, `ca-key.${tag}`), path.join(dir, "ca-key.pem"));
    renameSync(path.join(dir, `ca.${tag}`), path.join(dir, "ca.pem"));
  }
  for (const name of names) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`makeDevCerts: bad identity name ${JSON.stringify(name)}`);
    const cert = path.join(dir, `${name}.pem`);
    const key = path.join(dir, `${name}-key.pem`);
    const san = `URI:spiffe://${trust.trustDomain}/ns/${trust.namespaceOf?.[name] ?? trust.namespace}/sa/${name}, DNS:${name}`;
    // A new CA invalidates every old leaf, so they are all reissued; so is a leaf whose names are
    // not what they should be (those made before issue 14 also named localhost and 127.0.0.1).
    if (!caFresh && existsSync(cert) && existsSync(key) && new X509Certificate(readFileSync(cert)).subjectAltName === san) continue;
    const tag = `${name}.${randomBytes(4).toString("hex")}`;
    const ext = [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth,clientAuth",
      `subjectAltName=${san.replace(", ", ",")}`,
    ].join("\n");
    writeFileSync(path.join(dir, `${tag}.ext`), ext);
    try {
      openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${tag}.key`], dir);
      openssl(["req", "-new", "-key", `${tag}.key`, "-subj", `/O=shopmesh/CN=${name}`, "-out", `${tag}.csr`], dir);
      openssl(["x509", "-req", "-in", `${tag}.csr`, "-CA", "ca.pem", "-CAkey", "ca-key.pem",
        "-set_serial", `0x${randomBytes(12).toString("hex")}`, "-days", "825", "-sha256",
        "-extfile", `${tag}.ext`, "-out", `${tag}.crt`], dir);
      renameSync(path.join(dir, `${tag}.key`), key);
      renameSync(path.join(dir, `${tag}.crt`), cert);
    } finally {
      for (const f of [`${tag}.ext`, `${tag}.csr`, `${tag}.key`, `${tag}.crt`]) rmSync(path.join(dir, f), { force: true });
    }
  }
}
