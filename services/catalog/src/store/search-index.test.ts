// The trigram index's fold keys must agree with the matcher that verifies hits (/iu): if two code
// points could match case-insensitively but had different keys, the index would miss products.
// Checked over every code point, not a sample.
import { escapeLiteral, foldKey, literalMatcher, SearchIndex, trigrams } from "./search-index.js";

const CASED = /[\p{Cased}\p{Changes_When_Casefolded}\p{Changes_When_Casemapped}]/u;

function codePoints(from: number, to: number, keep: (ch: string) => boolean): string[] {
  const out: string[] = [];
  for (let cp = from; cp <= to; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const ch = String.fromCodePoint(cp);
    if (keep(ch)) out.push(ch);
  }
  return out;
}

test("two code points have one fold key exactly when /iu matches one with the other", () => {
  const cased = codePoints(0, 0x1ffff, (ch) => CASED.test(ch));
  const all = cased.join("");
  const groups = new Map<string, string[]>();
  for (const ch of cased) {
    const k = foldKey(ch);
    groups.set(k, [...(groups.get(k) ?? []), ch]);
  }
  expect(groups.size).toBeGreaterThan(1_000);
  for (const [key, members] of groups) {
    const matched = [...all.matchAll(new RegExp(escapeLiteral(members[0]!), "giu"))].map((m) => m[0]);
    expect({ key, members: matched }).toEqual({ key, members });
  }
  // Above U+1FFFF nothing is cased (the index's table stops there)...
  expect(codePoints(0x20000, 0x10ffff, (ch) => CASED.test(ch))).toEqual([]);
  // ...and no code point outside the table matches one in it: those are their own keys.
  const others = codePoints(0, 0x10ffff, (ch) => !CASED.test(ch)).join("");
  expect(others.match(new RegExp(`[${escapeLiteral(all)}]`, "giu"))).toBeNull();
  expect(foldKey("k")).toBe(foldKey("\u212a")); // KELVIN SIGN
  expect(foldKey("s")).toBe(foldKey("\u017f")); // LATIN SMALL LETTER LONG S
  expect(foldKey("σ")).toBe(foldKey("ς"));
  expect(foldKey("日")).toBe("日");
});

test("trigrams are per code point, folded, and distinct", () => {
  expect([...trigrams("Mug mug")]).toEqual(["MUG", "UG ", "G M", " MU"]);
  expect([...trigrams("ab")]).toEqual([]);
  expect([...trigrams("😀😀😀😀")]).toEqual(["😀😀😀"]);
});

test("candidates intersect the postings of every trigram, ascending, through adds and deletes", () => {
  const index = new SearchIndex();
  index.add(0, ["Leather Belt", "brown"]);
  index.add(1, ["Tote", "leather handles"]);
  index.add(2, ["Mug", "enamel"]);
  expect([...index.candidates("LEATHER")!]).toEqual([0, 1]);
  expect([...index.candidates("ther h")!]).toEqual([1]);
  expect([...index.candidates("zzz")!]).toEqual([]);
  expect(index.candidates("le")).toBeUndefined();
  index.delete(0, ["Leather Belt", "brown"]);
  index.add(0, ["Belt", "leather"]);
  index.add(5, ["Leather Gloves", ""]);
  expect([...index.candidates("leather")!]).toEqual([0, 1, 5]);
  expect(literalMatcher("a.b").test("axb")).toBe(false);
  expect(literalMatcher("a-b/c").test("A-B/C")).toBe(true);
});
