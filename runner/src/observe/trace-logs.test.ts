// make logs TRACE=<id> over real files in a temp folder: the log formats the mesh writes (pino's,
// the Python service's, and lines that are not JSON), one trace picked out and put in time order.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { traceLogs } from "./trace-logs.js";

const trace = "4bf92f3577b34da6a3ce929d0e0e4736";
const other = "0af7651916cd43dd8448eb211c80319c";
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "shopmesh-trace-logs-"));
  const pino = (time: string, msg: string, id: string) =>
    JSON.stringify({ level: 30, time, pid: 1, name: "svc", trace_id: id, span_id: "00f067aa0ba902b7", msg });
  writeFileSync(join(dir, "order.log"), [
    pino("2026-12-02T10:00:00.100Z", "order first", trace),
    pino("2026-12-02T10:00:00.150Z", "another trace", other),
    "not json, but it names " + trace,
    pino("2026-12-02T10:00:00.400Z", "order last", trace),
  ].join("\n") + "\n");
  // A line that mentions the id in its message but belongs to another trace is not one of its lines.
  writeFileSync(join(dir, "catalog-2.log"), [
    pino("2026-12-02T10:00:00.200Z", "catalog", trace),
    pino("2026-12-02T10:00:00.210Z", `asked about ${trace}`, other),
  ].join("\n"));
  // The Python service: epoch milliseconds, a space after each separator.
  writeFileSync(join(dir, "recommendation.log"),
    `{"level": 30, "time": ${Date.parse("2026-12-02T10:00:00.300Z")}, "name": "recommendation", "msg": "purchase recorded", "trace_id": "${trace}", "span_id": "b7ad6b7169203331"}\n`);
  writeFileSync(join(dir, "ferretdb.log"), `time=2026-12-02T10:00:00.250Z level=WARN msg="slow" trace=${trace}\n`);
  writeFileSync(join(dir, "notes.txt"), pino("2026-12-02T10:00:00.000Z", "not a log", trace));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("one trace's lines from every log, in time order, each with its time and log", async () => {
  const lines = await traceLogs(dir, trace.toUpperCase());
  expect(lines.map((l) => l.split(" ").slice(0, 2).join(" ").trimEnd())).toEqual([
    "2026-12-02T10:00:00.100Z order",
    "2026-12-02T10:00:00.200Z catalog-2",
    "2026-12-02T10:00:00.300Z recommendation",
    "2026-12-02T10:00:00.400Z order",
  ]);
  // The line itself, as written, after the log's name (padded to the longest).
  expect(lines[2]).toContain(` recommendation {"level": 30,`);
  expect(lines[0]).toMatch(/ order {10}\{"level":30,.*"msg":"order first"\}$/);
});

test("an id that is not a trace id is refused; a trace no log has is no lines", async () => {
  await expect(traceLogs(dir, "nope")).rejects.toThrow("is not a trace id");
  expect(await traceLogs(dir, "f".repeat(32))).toEqual([]);
  expect(await traceLogs(join(dir, "missing"), trace)).toEqual([]);
});
