// The README's two pictures, from a running `make up OBSERVE=1`: the mesh dashboard, and one
// checkout's trace in Zipkin's UI. Headless Debian Chromium through playwright-core (as the
// dashboard's test drives it). Usage: node scripts/screenshots.mjs <trace id>; writes docs/img/.
import { chromium } from "playwright-core";

const traceId = process.argv[2];
if (!/^[0-9a-f]{32}$/.test(traceId ?? "")) {
  console.error("usage: node scripts/screenshots.mjs <trace id of a checkout>");
  process.exit(2);
}
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto("http://127.0.0.1:3000/");
  // Two refreshes of the page's figures (every 3 s).
  await page.waitForTimeout(7000);
  await page.screenshot({ path: "docs/img/dashboard.png", fullPage: true });
  await page.goto(`http://127.0.0.1:9411/zipkin/traces/${traceId}`);
  await page.waitForTimeout(4000);
  await page.screenshot({ path: "docs/img/checkout-trace.png", fullPage: false });
  console.log("docs/img/dashboard.png and docs/img/checkout-trace.png written");
} finally {
  await browser.close();
}
