import { median, percentile, summarize } from "./latency.js";

describe("latency", () => {
  it("takes nearest-rank percentiles, so p99 of 1..100 is 99 and p50 is 50", () => {
    const s = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(s, 50)).toBe(50);
    expect(percentile(s, 99)).toBe(99);
    expect(percentile(s, 100)).toBe(100);
    expect(percentile([], 99)).toBe(0);
  });

  it("summarizes unsorted samples", () => {
    const r = summarize([5, 1, 3, 2, 4]);
    expect(r).toEqual({ count: 5, p50: 3, p90: 5, p99: 5, max: 5, mean: 3 });
  });

  it("medians odd and even counts", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBe(0);
  });
});
