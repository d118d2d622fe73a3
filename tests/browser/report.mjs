// A `tape report` page in a real browser: Debian's Chromium, headless, driven by playwright-core.
//
//   node tests/browser/report.mjs REPORT.html SCREENSHOT.png
//
// Fails (exit 1) on any console error or warning, page error, failed request or request for
// anything but the page itself; checks that every section is there, that every chart drew
// lines with real geometry and labelled axes, that the hover readout works, that nothing
// overflows the page's width; then saves a full-page screenshot and checks it is a PNG of
// plausible size. Ends with one line: "N passed, N failed".

import { chromium } from "playwright-core";
import { readFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [reportPath, screenshotPath] = process.argv.slice(2);
if (!reportPath || !screenshotPath) {
  console.error("usage: node report.mjs REPORT.html SCREENSHOT.png");
  process.exit(2);
}
const url = pathToFileURL(path.resolve(reportPath)).href;

let passed = 0;
let failed = 0;
function check(name, ok, detail = "") {
  if (ok) {
    passed += 1;
    console.log(`ok   ${name}`);
  } else {
    failed += 1;
    console.log(`FAIL ${name}${detail ? `: ${detail}` : ""}`);
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") {
      problems.push(`console ${message.type()}: ${message.text()}`);
    }
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) =>
    problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`),
  );
  page.on("request", (request) => {
    if (request.url() !== url) problems.push(`the page loads another resource: ${request.url()}`);
  });

  const response = await page.goto(url, { waitUntil: "load" });
  check("the page loads", response === null || response.ok());

  const sections = ["run", "summary", "charts", "equity", "drawdown", "exposure", "monthly", "metrics", "trades", "config"];
  const missing = await page.evaluate(
    (ids) => ids.filter((id) => {
      const element = document.getElementById(id);
      if (!element) return true;
      const box = element.getBoundingClientRect();
      return box.width <= 0 || box.height <= 0;
    }),
    sections,
  );
  check("every section is there and visible", missing.length === 0, `missing: ${missing.join(", ")}`);

  const charts = await page.$$eval("svg.chart", (svgs) =>
    svgs.map((svg) => {
      const lines = Array.from(svg.querySelectorAll("polyline.series")).map((line) => {
        const box = line.getBBox();
        return { width: box.width, height: box.height, points: line.points.numberOfItems };
      });
      const areas = Array.from(svg.querySelectorAll("polygon.area")).map((area) => area.getBBox());
      const labels = Array.from(svg.querySelectorAll(".axis text")).filter((t) => t.getBBox().width > 0);
      const box = svg.getBoundingClientRect();
      return {
        id: svg.closest("figure")?.id ?? "?",
        title: svg.querySelector("text.title")?.textContent ?? "",
        legend: svg.querySelectorAll("text.legend").length,
        lines,
        areas: areas.filter((b) => b.width > 0 && b.height > 0).length,
        labels: labels.length,
        width: box.width,
        height: box.height,
      };
    }),
  );
  check("three charts", charts.length === 3, `found ${charts.length}`);
  for (const chart of charts) {
    const drawn = chart.lines.filter((l) => l.width > 0 && l.height > 0 && l.points >= 20);
    check(
      `chart ${chart.id}: lines drawn with real geometry`,
      drawn.length > 0 && chart.lines.every((l) => l.width > 0 && l.points >= 20),
      JSON.stringify(chart.lines),
    );
    check(`chart ${chart.id}: a title and a legend`, chart.title.length > 0 && chart.legend === chart.lines.length);
    check(`chart ${chart.id}: labelled axes`, chart.labels >= 6, `${chart.labels} labels`);
    check(`chart ${chart.id}: shown at a readable size`, chart.width >= 600 && chart.height >= 150, `${chart.width}×${chart.height}`);
  }
  const areas = charts.reduce((n, c) => n + c.areas, 0);
  check("the drawdown and gross exposure areas are filled", areas >= 2, `${areas} areas`);

  // The hover readout: the pointer over the middle of the equity chart shows a date and values.
  const equity = await page.$("#equity svg.chart");
  const box = equity && (await equity.boundingBox());
  if (box) {
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
    const tip = await page.$eval("#equity .tip", (t) => ({ shown: getComputedStyle(t).display !== "none", text: t.textContent }));
    check(
      "hovering the equity chart shows the date and each line's value",
      tip.shown && /\d{4}-\d{2}-\d{2}/.test(tip.text) && /Strategy: [\d,]+\.\d{2}/.test(tip.text),
      JSON.stringify(tip),
    );
    await page.mouse.move(0, 0);
  } else {
    check("hovering the equity chart shows the date and each line's value", false, "no equity chart");
  }

  const monthly = await page.$$eval("table.monthly td[data-month]", (cells) => cells.length);
  check("the monthly returns table has cells", monthly > 0, `${monthly} cells`);
  const trades = await page.$$eval("table.trades tbody tr", (rows) => rows.length);
  check("the trades table has rows", trades > 0, `${trades} rows`);

  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check("nothing is wider than the window", overflow <= 0, `${overflow}px too wide`);

  mkdirSync(path.dirname(path.resolve(screenshotPath)), { recursive: true });
  await page.screenshot({ path: screenshotPath, fullPage: true });
  const png = readFileSync(screenshotPath);
  const signature = png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const width = png.length > 24 ? png.readUInt32BE(16) : 0;
  const height = png.length > 24 ? png.readUInt32BE(20) : 0;
  check(
    `screenshot ${screenshotPath} is a PNG of plausible size`,
    signature && png.length > 10_000 && width === 1280 && height > 900,
    `${png.length} bytes, ${width}×${height}`,
  );

  check("no console error, page error or failed request", problems.length === 0, problems.join("; "));
} finally {
  await browser.close();
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
