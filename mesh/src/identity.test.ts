// Mesh identity is pinned (issue 14, item 9): the trust domain and namespace of a SPIFFE id must be
// the mesh's own, the ingress gateway is the edge only in the gateway's namespace, and each dev
// certificate names only its own identity.
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeDevCerts } from "./identity-certs.js";
import { identityFromSpiffe, identityFromXfcc, type TrustPolicy } from "./identity.js";

const local: TrustPolicy = { trustDomain: "shop.local", namespace: "shop", gatewayNamespace: "istio-system" };
const cluster: TrustPolicy = { trustDomain: "cluster.local", namespace: "shop", gatewayNamespace: "istio-system" };
const xfcc = (uri: string) => `By=spiffe://cluster.local/ns/shop/sa/catalog;Hash=abc;Subject="";URI=${uri}`;

test("a SPIFFE id from another trust domain or namespace names nobody", () => {
  expect(identityFromSpiffe("spiffe://shop.local/ns/shop/sa/order", local)).toBe("order");
  expect(identityFromSpiffe("spiffe://evil.example/ns/shop/sa/order", local)).toBeUndefined();
  expect(identityFromSpiffe("spiffe://shop.local/ns/other/sa/order", local)).toBeUndefined();
});

test("under Istio, x-forwarded-client-cert is held to the configured trust domain", () => {
  expect(identityFromXfcc(xfcc("spiffe://cluster.local/ns/shop/sa/order"), cluster)).toBe("order");
  expect(identityFromXfcc(xfcc("spiffe://evil.example/ns/shop/sa/order"), cluster)).toBeUndefined();
  expect(identityFromXfcc(xfcc("spiffe://shop.local/ns/shop/sa/order"), cluster)).toBeUndefined();
});

test("the ingress gateway is the edge only in the gateway's own namespace and trust domain", () => {
  expect(identityFromXfcc(xfcc("spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"), cluster)).toBe("edge");
  expect(identityFromXfcc(xfcc("spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway"), cluster)).toBe("edge");
  for (const ns of ["shop", "attacker", "default"]) {
    expect(identityFromXfcc(xfcc(`spiffe://cluster.local/ns/${ns}/sa/istio-ingressgateway`), cluster)).toBeUndefined();
  }
  expect(identityFromXfcc(xfcc("spiffe://evil.example/ns/istio-system/sa/istio-ingressgateway"), cluster)).toBeUndefined();
});

test("each dev certificate names only its own identity: no localhost, no 127.0.0.1 that every service would share", () => {
  const dir = mkdtempSync(join(tmpdir(), "certs-"));
  try {
    makeDevCerts(dir, ["catalog", "payment"]);
    for (const name of ["catalog", "payment"]) {
      const cert = new X509Certificate(readFileSync(join(dir, `${name}.pem`)));
      expect(cert.subjectAltName).toBe(`URI:spiffe://shop.local/ns/shop/sa/${name}, DNS:${name}`);
      expect(cert.checkHost(name)).toBe(name);
      expect(cert.checkHost("localhost")).toBeUndefined();
      expect(cert.checkIP("127.0.0.1")).toBeUndefined();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a leaf made before issue 14 (naming localhost and 127.0.0.1) is reissued; a right one is kept", () => {
  const dir = mkdtempSync(join(tmpdir(), "certs-"));
  try {
    makeDevCerts(dir, ["cart"]);
    const kept = readFileSync(join(dir, "cart.pem"), "utf8");
    makeDevCerts(dir, ["cart"]);
    expect(readFileSync(join(dir, "cart.pem"), "utf8")).toBe(kept);
    // An old-style leaf for order, signed by the same CA.
    const ext = join(dir, "old.ext");
    writeFileSync(ext, "subjectAltName=URI:spiffe://shop.local/ns/shop/sa/order,DNS:localhost,DNS:order,IP:127.0.0.1\n");
    const run = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
    run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "order-key.pem"]);
    run(["req", "-new", "-key", "order-key.pem", "-subj", "/CN=order", "-out", "order.csr"]);
    run(["x509", "-req", "-in", "order.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-days", "1", "-extfile", ext, "-out", "order.pem"]);
    expect(new X509Certificate(readFileSync(join(dir, "order.pem"))).checkHost("localhost")).toBe("localhost");
    makeDevCerts(dir, ["cart", "order"]);
    expect(new X509Certificate(readFileSync(join(dir, "order.pem"))).subjectAltName).toBe("URI:spiffe://shop.local/ns/shop/sa/order, DNS:order");
    expect(readFileSync(join(dir, "cart.pem"), "utf8")).toBe(kept);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
