// A trigram index for SearchProducts' literal, case-insensitive substring match (docs/architecture.md,
// "The catalog view"). Each text is folded one code point at a time to a key that is the same for
// every character a case-insensitive match treats as equal; every three consecutive keys make a
// trigram, and each trigram lists the slots (small integers) of the products containing it, in
// ascending order. A product that contains the query contains all of the query's trigrams, so
// intersecting their lists gives a superset of the matches, which the caller then verifies.

/** Escapes every regex metacharacter, so text is matched as itself (valid with the u flag). */
export function escapeLiteral(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** The case-insensitive literal matcher of search: JavaScript's /iu, Unicode simple case folding. */
export function literalMatcher(text: string): RegExp {
  return new RegExp(escapeLiteral(text), "iu");
}

// Characters that take part in case folding: anything else matches only itself. The key of one
// that does is the first character of the string below that /iu matches, i.e. the lowest code
// point of its case class, found by the same engine that verifies matches, so both agree.
const CASED = /[\p{Cased}\p{Changes_When_Casefolded}\p{Changes_When_Casemapped}]/u;
let casedChars: string | undefined;
const keys = new Map<string, string>();

function casedString(): string {
  const out: string[] = [];
  // No cased character lies above U+1FFFF (checked against every code point by search-index.test.ts).
  for (let cp = 0; cp <= 0x1ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const ch = String.fromCodePoint(cp);
    if (CASED.test(ch)) out.push(ch);
  }
  return out.join("");
}

/** The fold key of one code point: equal for two code points exactly when /iu matches one with the other. */
export function foldKey(ch: string): string {
  const code = ch.charCodeAt(0);
  if (code < 0x80) return code >= 0x61 && code <= 0x7a ? String.fromCharCode(code - 32) : ch;
  let key = keys.get(ch);
  if (key === undefined) {
    if (!CASED.test(ch)) return ch;
    casedChars ??= casedString();
    key = literalMatcher(ch).exec(casedChars)?.[0] ?? ch;
    keys.set(ch, key);
  }
  return key;
}

/** The distinct trigrams of a text, each as three fold keys joined. */
export function trigrams(text: string, into = new Set<string>()): Set<string> {
  let a = "";
  let b = "";
  for (const ch of text) {
    const c = foldKey(ch);
    if (a !== "") into.add(a + b + c);
    a = b;
    b = c;
  }
  return into;
}

/** A sorted, growable list of slots. */
class Postings {
  slots = new Uint32Array(4);
  length = 0;

  /** Index of the first element >= slot. */
  private find(slot: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.slots[mid]! < slot) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  add(slot: number): void {
    // Loading assigns slots in ascending order, so the common case is an append.
    const i = this.length > 0 && this.slots[this.length - 1]! < slot ? this.length : this.find(slot);
    if (i < this.length && this.slots[i] === slot) return;
    if (this.length === this.slots.length) {
      const grown = new Uint32Array(this.slots.length * 2);
      grown.set(this.slots);
      this.slots = grown;
    }
    this.slots.copyWithin(i + 1, i, this.length);
    this.slots[i] = slot;
    this.length++;
  }

  delete(slot: number): void {
    const i = this.find(slot);
    if (i >= this.length || this.slots[i] !== slot) return;
    this.slots.copyWithin(i, i + 1, this.length);
    this.length--;
  }

  view(): Uint32Array {
    return this.slots.subarray(0, this.length);
  }
}

/** Keeps in `out` (ascending) the slots also in `list` (ascending), walking both; returns how many. */
function intersectMerging(out: Uint32Array, list: Uint32Array): number {
  let n = 0;
  let j = 0;
  for (const slot of out) {
    while (j < list.length && list[j]! < slot) j++;
    if (j === list.length) break;
    if (list[j] === slot) out[n++] = slot;
  }
  return n;
}

/** The same for a `list` much longer than `out`: a binary search per slot, each starting where the last stopped. */
function intersectSearching(out: Uint32Array, list: Uint32Array): number {
  let n = 0;
  let from = 0;
  for (const slot of out) {
    let lo = from;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]! < slot) lo = mid + 1;
      else hi = mid;
    }
    from = lo;
    if (lo < list.length && list[lo] === slot) out[n++] = slot;
  }
  return n;
}

/** Trigram postings of the products' texts. */
export class SearchIndex {
  private readonly postings = new Map<string, Postings>();

  /** Indexes the texts of a product under its slot. */
  add(slot: number, texts: readonly string[]): void {
    const grams = new Set<string>();
    for (const t of texts) trigrams(t, grams);
    for (const g of grams) {
      let p = this.postings.get(g);
      if (!p) {
        p = new Postings();
        this.postings.set(g, p);
      }
      p.add(slot);
    }
  }

  /** Removes a slot indexed with exactly these texts. */
  delete(slot: number, texts: readonly string[]): void {
    const grams = new Set<string>();
    for (const t of texts) trigrams(t, grams);
    for (const g of grams) {
      const p = this.postings.get(g);
      if (!p) continue;
      p.delete(slot);
      if (p.length === 0) this.postings.delete(g);
    }
  }

  /**
   * The slots that hold every trigram of the query, ascending: a superset of the slots whose texts
   * contain it. undefined when the query has fewer than three code points (no trigram to look up).
   */
  candidates(query: string): Uint32Array | undefined {
    const grams = trigrams(query);
    if (grams.size === 0) return undefined;
    const lists: Uint32Array[] = [];
    for (const g of grams) {
      const p = this.postings.get(g);
      if (!p) return new Uint32Array(0);
      lists.push(p.view());
    }
    lists.sort((x, y) => x.length - y.length);
    let out = lists[0]!.slice();
    for (const list of lists.slice(1)) {
      out = out.subarray(0, list.length > out.length * 16 ? intersectSearching(out, list) : intersectMerging(out, list));
      if (out.length === 0) break;
    }
    return out;
  }

  /** Number of distinct trigrams and of postings (for measurements). */
  stats(): { trigrams: number; postings: number } {
    let postings = 0;
    for (const p of this.postings.values()) postings += p.length;
    return { trigrams: this.postings.size, postings };
  }
}
