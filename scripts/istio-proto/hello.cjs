// The prototype's tiny gRPC workload and client (docs/istio-local.md), no protos needed:
// grpc.health.v1.Health/Check with hand-encoded messages (HealthCheckResponse{status: SERVING} is
// the two bytes 08 01). The server answers plaintext h2c, as a service in MESH_MODE=istio does, and
// echoes what its sidecar told it about the caller (x-forwarded-client-cert) as a response header.
//
//   node scripts/istio-proto/hello.cjs serve 127.0.0.1:17001
//   node scripts/istio-proto/hello.cjs call 127.0.2.2:7001 hello.shop.svc.cluster.local [n]
"use strict";
const grpc = require("@grpc/grpc-js");

const raw = { serialize: (b) => b, deserialize: (b) => b };
const check = { path: "/grpc.health.v1.Health/Check", requestStream: false, responseStream: false,
  requestSerialize: raw.serialize, requestDeserialize: raw.deserialize,
  responseSerialize: raw.serialize, responseDeserialize: raw.deserialize };

const [mode, addr, authority, count] = process.argv.slice(2);
if (mode === "serve") {
  const server = new grpc.Server();
  let calls = 0;
  server.addService({ Check: check }, {
    Check(call, cb) {
      calls++;
      const xfcc = call.metadata.get("x-forwarded-client-cert").join(",");
      console.log(JSON.stringify({ call: calls, peer: call.getPeer(),
        xfcc }));
      const md = new grpc.Metadata();
      md.set("x-seen-xfcc", xfcc || "(none)");
      call.sendMetadata(md);
      cb(null, Buffer.from([0x08, 0x01]));
    },
  });
  server.bindAsync(addr, grpc.ServerCredentials.createInsecure(), (err) => {
    if (err) { console.error(err.message); process.exit(1); }
    console.log(`hello: serving on ${addr} (plaintext h2c)`);
  });
  for (const s of ["SIGTERM", "SIGINT"]) process.on(s, () => server.tryShutdown(() => process.exit(0)));
} else if (mode === "call") {
  const client = new grpc.Client(addr, grpc.credentials.createInsecure(), { "grpc.default_authority": authority });
  const n = Number(count ?? 1);
  let ok = 0, done = 0;
  const one = (i) => new Promise((resolve) => {
    let seen;
    const c = client.makeUnaryRequest(check.path, raw.serialize, raw.deserialize, Buffer.alloc(0), new grpc.Metadata(),
      { deadline: Date.now() + 5000 }, (err, res) => {
        done++;
        if (err) console.log(JSON.stringify({ i, code: err.code, details: err.details }));
        else { ok++; if (i === 0) console.log(JSON.stringify({ i, response: res.toString("hex"), xfcc: seen })); }
        resolve();
      });
    c.on("metadata", (md) => { seen = md.get("x-seen-xfcc")[0]; });
  });
  (async () => {
    for (let i = 0; i < n; i++) await one(i);
    console.log(`calls: ${ok} ok, ${done - ok} failed`);
    client.close();
    process.exit(ok === n ? 0 : 1);
  })();
} else {
  console.error("usage: hello.cjs serve ADDR | call ADDR AUTHORITY [N]");
  process.exit(2);
}
