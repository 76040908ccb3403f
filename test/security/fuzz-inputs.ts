// Payload generators for the fuzz test: bytes a hostile or broken client could send for a request
// message. Structure-aware (random values of the right types, wrong wire types for known field
// numbers, extreme numbers, invalid UTF-8, deep nesting) and blind (bit flips, truncations, random
// bytes). A seeded PRNG makes every run reproducible from the printed seed.
import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/** A seeded PRNG (mulberry32): float in [0, 1). */
export type Rng = () => number;

/** Creates a reproducible PRNG from a 32-bit seed. */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (rng: Rng, n: number) => Math.floor(rng() * n);
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[int(rng, xs.length)]!;

/** Strings that break naive code: operators, wildcards, control and astral characters, long runs. */
export const nastyStrings = [
  "", " ", "\u0000", "\u0000abc", "\n\r\t", "\u202e\u0301", "😀".repeat(20), "a".repeat(65), "a".repeat(10_000),
  '{"$ne": null}', '{"$gt": ""}', "$where", "$ne", ".*", "^.*$", "'; return true; //", "../../etc/passwd",
  "%s%s%s%n", "<script>alert(1)</script>", "-1", "NaN", "1e309", "null", "undefined", "__proto__", "constructor",
  "USD", "usd", "XXX", "4242424242424242", "user@example.com", "a@b", "@", "p1", "sec-x",
] as const;

const int32s = [0, 1, -1, 2, 99, 100, 1000, 2 ** 31 - 1, -(2 ** 31)];
const int64s = [0n, 1n, -1n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), 10n ** 15n];
const uint64s = [0n, 1n, 2n ** 64n - 1n, 2n ** 63n];
const doubles = [0, -0, 1.5, -1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e308, 5e-324];

function randomString(rng: Rng): string {
  if (rng() < 0.6) return pick(rng, nastyStrings);
  const len = int(rng, 80);
  let s = "";
  for (let i = 0; i < len; i++) s += String.fromCharCode(rng() < 0.9 ? 32 + int(rng, 95) : int(rng, 0xffff));
  return s;
}

function writeScalar(w: BinaryWriter, no: number, t: ScalarType, rng: Rng): void {
  switch (t) {
    case ScalarType.STRING:
      w.tag(no, WireType.LengthDelimited).string(randomString(rng));
      return;
    case ScalarType.BYTES:
      w.tag(no, WireType.LengthDelimited).bytes(randomBytes(rng, int(rng, 64)));
      return;
    case ScalarType.BOOL:
      // Varints other than 0/1 are still "true" on the wire; send them too.
      w.tag(no, WireType.Varint).uint64(pick(rng, [0n, 1n, 2n, 2n ** 64n - 1n]));
      return;
    case ScalarType.INT32: case ScalarType.UINT32: case ScalarType.SINT32:
      w.tag(no, WireType.Varint);
      if (t === ScalarType.SINT32) w.sint32(pick(rng, int32s));
      else if (t === ScalarType.UINT32) w.uint32(pick(rng, [0, 1, 2 ** 32 - 1]));
      // An int32 field carrying a 64-bit value: decoders must truncate, not fail.
      else if (rng() < 0.2) w.int64(pick(rng, int64s));
      else w.int32(pick(rng, int32s));
      return;
    case ScalarType.INT64: case ScalarType.SINT64:
      w.tag(no, WireType.Varint);
      if (t === ScalarType.SINT64) w.sint64(pick(rng, int64s));
      else w.int64(pick(rng, int64s));
      return;
    case ScalarType.UINT64:
      w.tag(no, WireType.Varint).uint64(pick(rng, uint64s));
      return;
    case ScalarType.DOUBLE:
      w.tag(no, WireType.Bit64).double(pick(rng, doubles));
      return;
    case ScalarType.FLOAT:
      w.tag(no, WireType.Bit32).float(pick(rng, doubles));
      return;
    case ScalarType.FIXED32: case ScalarType.SFIXED32:
      w.tag(no, WireType.Bit32).fixed32(int(rng, 2 ** 32));
      return;
    case ScalarType.FIXED64: case ScalarType.SFIXED64:
      w.tag(no, WireType.Bit64).fixed64(pick(rng, uint64s));
      return;
  }
}

/** Wire type a field's values use (packed repeated scalars aside). */
function wireTypeOf(f: DescField): WireType {
  if (f.fieldKind === "message" || f.fieldKind === "map" || (f.fieldKind === "list" && f.listKind === "message")) return WireType.LengthDelimited;
  const t = f.fieldKind === "scalar" || (f.fieldKind === "list" && f.listKind === "scalar") ? f.scalar : undefined;
  if (t === undefined) return WireType.Varint; // enums
  if (t === ScalarType.STRING || t === ScalarType.BYTES) return WireType.LengthDelimited;
  if (t === ScalarType.DOUBLE || t === ScalarType.FIXED64 || t === ScalarType.SFIXED64) return WireType.Bit64;
  if (t === ScalarType.FLOAT || t === ScalarType.FIXED32 || t === ScalarType.SFIXED32) return WireType.Bit32;
  return WireType.Varint;
}

function writeValue(w: BinaryWriter, f: DescField, rng: Rng, depth: number): void {
  if (f.fieldKind === "message" || (f.fieldKind === "list" && f.listKind === "message")) {
    w.tag(f.number, WireType.LengthDelimited).bytes(randomMessage(f.message!, rng, depth + 1));
  } else if (f.fieldKind === "enum" || (f.fieldKind === "list" && f.listKind === "enum")) {
    // Unknown enum numbers are legal on the wire (open enums) and must not crash anything.
    w.tag(f.number, WireType.Varint).int32(pick(rng, [0, 1, 2, 3, 99, -1, 2 ** 31 - 1]));
  } else if (f.fieldKind === "scalar" || (f.fieldKind === "list" && f.listKind === "scalar")) {
    writeScalar(w, f.number, f.scalar, rng);
  }
}

/** A random message of type `desc`: each field set with probability 0.7, lists up to 5 items (sometimes 300). */
export function randomMessage(desc: DescMessage, rng: Rng, depth = 0): Uint8Array {
  const w = new BinaryWriter();
  if (depth > 4) return w.finish();
  for (const f of desc.fields) {
    if (rng() > 0.7) continue;
    const n = f.fieldKind === "list" ? (rng() < 0.05 ? 300 : int(rng, 6)) : 1;
    for (let i = 0; i < n; i++) writeValue(w, f, rng, depth);
  }
  return w.finish();
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = int(rng, 256);
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

/** A field tag with a wire type the field does not use, plus a payload shaped for that wrong type. */
function wrongWireType(desc: DescMessage, rng: Rng): Uint8Array {
  const w = new BinaryWriter();
  const f = desc.fields.length > 0 ? pick(rng, desc.fields) : undefined;
  const no = f?.number ?? 1 + int(rng, 20);
  const right = f ? wireTypeOf(f) : undefined;
  const wrong = pick(rng, [WireType.Varint, WireType.Bit64, WireType.LengthDelimited, WireType.StartGroup, WireType.Bit32, WireType.EndGroup]
    .filter((t) => t !== right));
  w.tag(no, wrong);
  switch (wrong) {
    case WireType.Varint: w.uint64(pick(rng, uint64s)); break;
    case WireType.Bit64: w.fixed64(pick(rng, uint64s)); break;
    case WireType.Bit32: w.fixed32(int(rng, 2 ** 32)); break;
    case WireType.LengthDelimited: w.bytes(randomBytes(rng, int(rng, 32))); break;
    case WireType.StartGroup: if (rng() < 0.5) w.tag(no, WireType.EndGroup); break; // half are unterminated
    default: break;
  }
  return w.finish();
}

/** Invalid UTF-8 in a string field (or field 1 when the message has none). */
function invalidUtf8(desc: DescMessage, rng: Rng): Uint8Array {
  const strings = desc.fields.filter((f) => (f.fieldKind === "scalar" || f.fieldKind === "list") && f.scalar === ScalarType.STRING);
  const no = strings.length > 0 ? pick(rng, strings).number : 1;
  const bad = pick(rng, [[0xff], [0xc3, 0x28], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x61, 0x80, 0x62]]);
  return new BinaryWriter().tag(no, WireType.LengthDelimited).bytes(Uint8Array.from(bad)).finish();
}

/** Extreme varints: -1, 2^64-1, and an 11-byte (overlong, invalid) varint, on a numeric or random field. */
function extremeNumber(desc: DescMessage, rng: Rng): Uint8Array {
  const nums = desc.fields.filter((f) => wireTypeOf(f) === WireType.Varint);
  const no = nums.length > 0 ? pick(rng, nums).number : 1 + int(rng, 10);
  if (rng() < 0.3) return concat(new BinaryWriter().tag(no, WireType.Varint).finish(), new Uint8Array(11).fill(0xff));
  return new BinaryWriter().tag(no, WireType.Varint).int64(pick(rng, int64s)).finish();
}

/** Length-delimited (or group) nesting `depth` deep, on a message field when the type has one. */
export function deepNesting(desc: DescMessage, rng: Rng, depth: number): Uint8Array {
  const msgs = desc.fields.filter((f) => f.fieldKind === "message" || (f.fieldKind === "list" && f.listKind === "message"));
  const no = msgs.length > 0 ? pick(rng, msgs).number : 1 + int(rng, 5);
  if (rng() < 0.3) {
    // Groups: StartGroup × depth, then EndGroup × depth; skipping them recurses in naive decoders.
    const open = new BinaryWriter().tag(no, WireType.StartGroup).finish();
    const close = new BinaryWriter().tag(no, WireType.EndGroup).finish();
    return concat(...Array<Uint8Array>(depth).fill(open), ...Array<Uint8Array>(depth).fill(close));
  }
  let inner: Uint8Array = randomBytes(rng, 4);
  for (let i = 0; i < depth; i++) inner = new BinaryWriter().tag(no, WireType.LengthDelimited).bytes(inner).finish();
  return inner;
}

/** A valid seed with 1..8 bits flipped. */
function bitFlip(seed: Uint8Array, rng: Rng): Uint8Array {
  const b = Uint8Array.from(seed);
  if (b.length === 0) return randomBytes(rng, 1 + int(rng, 8));
  for (let i = 1 + int(rng, 8); i > 0; i--) b[int(rng, b.length)]! ^= 1 << int(rng, 8);
  return b;
}

/** A one-field message whose string field holds `size` bytes (for the max-message-size edges). */
export function hugeString(desc: DescMessage, size: number): Uint8Array {
  const s = desc.fields.find((f) => f.fieldKind === "scalar" && f.scalar === ScalarType.STRING);
  const no = s?.number ?? 1;
  return new BinaryWriter().tag(no, WireType.LengthDelimited).bytes(new Uint8Array(size).fill(0x61)).finish();
}

/** Kinds of generated input, for the per-RPC record. */
export const inputKinds = ["structured", "mutated-seed", "bit-flip", "truncated", "random-bytes", "wrong-wire-type", "extreme-number", "invalid-utf8", "deep-nesting", "appended-garbage"] as const;
/** One kind of input. */
export type InputKind = (typeof inputKinds)[number];

/** One fuzz input of a random kind for message `desc`, derived from valid `seeds`. */
export function fuzzInput(desc: DescMessage, seeds: Uint8Array[], rng: Rng): { kind: InputKind; bytes: Uint8Array } {
  const seed = seeds.length > 0 ? pick(rng, seeds) : new Uint8Array();
  const kind = pick(rng, inputKinds);
  switch (kind) {
    case "structured": return { kind, bytes: randomMessage(desc, rng) };
    // A valid message with one random field appended: later fields win, so this replaces a value.
    case "mutated-seed": return { kind, bytes: concat(seed, randomMessage(desc, rng, 3)) };
    case "bit-flip": return { kind, bytes: bitFlip(seed, rng) };
    case "truncated": return { kind, bytes: seed.subarray(0, seed.length > 0 ? int(rng, seed.length) : 0) };
    case "random-bytes": return { kind, bytes: randomBytes(rng, int(rng, 200)) };
    case "wrong-wire-type": return { kind, bytes: concat(seed, wrongWireType(desc, rng)) };
    case "extreme-number": return { kind, bytes: concat(seed, extremeNumber(desc, rng)) };
    case "invalid-utf8": return { kind, bytes: concat(seed, invalidUtf8(desc, rng)) };
    case "deep-nesting": return { kind, bytes: deepNesting(desc, rng, pick(rng, [64, 100, 500, 2000])) };
    case "appended-garbage": return { kind, bytes: concat(seed, randomBytes(rng, 1 + int(rng, 16))) };
  }
}

/** Field `no` as one length-delimited value holding `bytes`. */
export function lengthDelimited(no: number, bytes: Uint8Array): Uint8Array {
  return new BinaryWriter().tag(no, WireType.LengthDelimited).bytes(bytes).finish();
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

/**
 * Field `no` nested `depth` deep as length-delimited values around `core`. Built in one pass from
 * the inside lengths (wrapping level by level copies the whole message at each level: quadratic).
 */
export function deepLengthDelimited(no: number, depth: number, core: Uint8Array): Uint8Array {
  const tag = new BinaryWriter().tag(no, WireType.LengthDelimited).finish();
  const lengths = new Array<number>(depth);
  let size = core.length;
  for (let i = depth - 1; i >= 0; i--) {
    lengths[i] = size;
    size += tag.length + varintSize(size);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const len of lengths) {
    out.set(tag, at);
    at += tag.length;
    for (let n = len; ; n = Math.floor(n / 0x80)) {
      if (n < 0x80) {
        out[at++] = n;
        break;
      }
      out[at++] = (n % 0x80) | 0x80;
    }
  }
  out.set(core, at);
  return out;
}

/** `depth` StartGroup tags of field `no`, then as many EndGroup tags (none when `terminated` is false). */
export function nestedGroups(no: number, depth: number, terminated = true): Uint8Array {
  const open = new BinaryWriter().tag(no, WireType.StartGroup).finish();
  const close = new BinaryWriter().tag(no, WireType.EndGroup).finish();
  return Buffer.concat([Buffer.alloc(depth * open.length, open), terminated ? Buffer.alloc(depth * close.length, close) : Buffer.alloc(0)]);
}
