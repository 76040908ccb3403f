// Config parsing: defaults, validation and the production-only requirements.
import { parseAuthConfig } from "./config.js";

test("defaults follow the topology and the local mesh", () => {
  expect(parseAuthConfig({})).toMatchObject({ mode: "local", port: 50051, adminPort: 9091, mongoDb: "shop_auth",
    redisPrefix: "auth:", jwtKeyFile: ".run/keys/jwt-es256.pem", accessTokenTtlSeconds: 900,
    loginMaxFailures: 5, loginFailureWindowSeconds: 900 });
  expect(parseAuthConfig({}).jwtPreviousKeyFile).toBeUndefined();
});

test("AUTH_ADMIN_EMAILS, which made any self-registered email an admin, is refused with the way that replaced it", () => {
  expect(() => parseAuthConfig({ AUTH_ADMIN_EMAILS: "boss@example.com" })).toThrow(/AUTH_ADMIN_EMAILS is gone.*make admin/);
});

test("bad values are all reported; istio mode needs the key file from a Secret", () => {
  expect(() => parseAuthConfig({ MESH_MODE: "cluster", LOGIN_MAX_FAILURES: "0" })).toThrow(/MESH_MODE.*LOGIN_MAX_FAILURES/);
  expect(() => parseAuthConfig({ MESH_MODE: "istio" })).toThrow(/JWT_KEY_FILE is required/);
  expect(parseAuthConfig({ MESH_MODE: "istio", JWT_KEY_FILE: "/var/run/secrets/jwt/key.pem" }).jwtKeyFile)
    .toBe("/var/run/secrets/jwt/key.pem");
});
