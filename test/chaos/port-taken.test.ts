// `make up` never kills what it did not start: when a port it needs is taken, it names the port
// and the process holding it, starts nothing, and leaves that process alone. Here recommendation
// is stopped, a stranger listens on its port, and `up` must refuse; once the stranger is gone,
// `up` brings recommendation back.
import { createServer } from "node:net";
import { meshPids, meshUp, rememberReplicas, running, stopProcess } from "./mesh-control.js";

const PORT = 50056;

beforeAll(() => rememberReplicas());
afterAll(() => meshUp());

it("refuses to start over a port someone else holds, names the holder, and kills nothing", async () => {
  await stopProcess("recommendation", "SIGTERM");
  const stranger = createServer();
  await new Promise<void>((resolve, reject) => stranger.once("error", reject).listen(PORT, "127.0.0.1", resolve));
  let refusal = "";
  try {
    await meshUp().then(() => { refusal = "(up succeeded)"; }, (err: Error) => { refusal = err.message; });
    expect(refusal).toContain(`port ${PORT} (for recommendation) is taken by node (pid ${process.pid})`);
    expect(running(process.pid)).toBe(true);
    expect((await meshPids()).has("recommendation")).toBe(false);
  } finally {
    await new Promise((r) => stranger.close(r));
  }
  await meshUp();
  expect((await meshPids()).has("recommendation")).toBe(true);
}, 120_000);
