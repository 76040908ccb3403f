import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { checkContracts, listedCodes } from "./check.js";

const root = join(import.meta.dirname, "..", "..");

function load(bytes: Uint8Array) {
  return fromBinary(FileDescriptorSetSchema, bytes);
}

describe("contracts in gen/shop.binpb", () => {
  const set = load(readFileSync(join(root, "gen", "shop.binpb")));

  it("keeps every rule", () => {
    expect(checkContracts(set)).toEqual([]);
  });

  it("covers every shop package and at least one server-streaming RPC", () => {
    const packages = new Set(set.file.map((f) => f.package));
    for (const p of ["shop.auth.v1", "shop.catalog.v1", "shop.catalog.v2", "shop.cart.v1",
      "shop.payment.v1", "shop.order.v1", "shop.recommendation.v1"]) {
      expect(packages).toContain(p);
    }
    const streaming = set.file.flatMap((f) => f.service.flatMap((s) => s.method))
      .filter((m) => m.serverStreaming);
    expect(streaming.map((m) => m.name)).toContain("WatchProduct");
  });
});

describe("the contract check on a bad fixture", () => {
  // test/contracts/fixtures/bad breaks each rule once; buf compiles it with source info, as it
  // compiles gen/shop.binpb, so the check sees exactly what it sees in production.
  const bytes = execFileSync(join(root, "node_modules", ".bin", "buf"),
    ["build", join(import.meta.dirname, "fixtures", "bad"), "-o", "-#format=binpb"],
    { cwd: join(import.meta.dirname, "fixtures", "bad") });
  const problems = checkContracts(load(bytes));

  it("fails on an RPC without a comment", () => {
    expect(problems).toContain("shop.broken.BrokenService.Undocumented: has no comment");
  });

  it("fails on a comment that does not list status codes", () => {
    expect(problems).toContain(
      'shop.broken.BrokenService.GetVague: its comment does not list the status codes it returns ("Errors: ...")');
  });

  it("fails on an Errors: line whose clause does not start with a gRPC code name", () => {
    expect(problems).toContain(
      'shop.broken.BrokenService.ListThings: its Errors: clause "none" does not start with a gRPC code name');
  });

  it("fails on a code name that is not one of the 16 gRPC codes", () => {
    expect(problems).toContain(
      "shop.broken.BrokenService.GetTypo: its Errors: line names INVALID_ARGUMENTS, which is not a gRPC code");
  });

  it("reads the codes of every clause, several in one, and no ErrorInfo reason", () => {
    expect([...listedCodes(load(bytes)).get("shop.broken.BrokenService/GetWell")!].sort())
      .toEqual(["DEADLINE_EXCEEDED", "FAILED_PRECONDITION", "INVALID_ARGUMENT", "UNAVAILABLE"]);
  });

  it("fails on a read method not marked NO_SIDE_EFFECTS", () => {
    expect(problems).toContain(
      "shop.broken.BrokenService.ListThings: a read method must be marked idempotency_level = NO_SIDE_EFFECTS");
  });

  it("fails on a package without a version suffix", () => {
    expect(problems).toContain(
      "shop/broken/broken.proto: package shop.broken lacks a version suffix (shop.<name>.vN)");
  });

  it("reports nothing else", () => {
    expect(problems).toHaveLength(6);
  });
});

describe("buf breaking against the released baseline", () => {
  const buf = join(root, "node_modules", ".bin", "buf");
  const baseline = join(root, "proto", "baseline.binpb");

  function breaking(edit: (dir: string) => void): { code: number; output: string } {
    const dir = mkdtempSync(join(tmpdir(), "shop-breaking-"));
    try {
      cpSync(join(root, "proto", "shop"), join(dir, "shop"), { recursive: true });
      writeFileSync(join(dir, "buf.yaml"), "version: v2\nbreaking:\n  use: [FILE]\n");
      edit(dir);
      execFileSync(buf, ["breaking", dir, "--against", baseline, "--error-format=msvs"], { stdio: "pipe" });
      return { code: 0, output: "" };
    } catch (err) {
      const e = err as { status: number; stdout: Buffer; stderr: Buffer };
      return { code: e.status, output: `${e.stdout}${e.stderr}` };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("passes on the contracts as they are", () => {
    expect(breaking(() => {})).toEqual({ code: 0, output: "" });
  });

  it("fails, naming the rule, when a released field changes type", () => {
    const result = breaking((dir) => {
      const file = join(dir, "shop", "catalog", "v1", "catalog.proto");
      writeFileSync(file, readFileSync(file, "utf8").replace("int64 price_usd_cents = 5;", "string price_usd_cents = 5;"));
    });
    expect(result.code).not.toBe(0);
    expect(result.output).toContain("FIELD_SAME_TYPE");
  });

  it("fails, naming the rule, when a released RPC is deleted", () => {
    const result = breaking((dir) => {
      const file = join(dir, "shop", "cart", "v1", "cart.proto");
      writeFileSync(file, readFileSync(file, "utf8").replace(/rpc EmptyCart[^}]*}\n/, ""));
    });
    expect(result.code).not.toBe(0);
    expect(result.output).toContain("RPC_NO_DELETE");
  });
});
