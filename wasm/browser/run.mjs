// Browser test runner: serves the package and the test page on 127.0.0.1,
// opens the page in Debian's headless Chromium through playwright-core (no
// browser download), prints the page's results and exits non-zero on failure.
//   node browser/run.mjs [package dir, default: this package] [--screenshot out.png]
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const shotAt = args.indexOf('--screenshot');
const screenshot = shotAt >= 0 ? args.splice(shotAt, 2)[1] : null;
const pkgDir = resolve(args[0] || join(here, '..'));
const fixtures = resolve(here, '..', '..', 'examples');
const roots = { '/pkg/': pkgDir, '/page/': here, '/fixtures/': fixtures };
const types = { '.html': 'text/html', '.mjs': 'text/javascript', '.js': 'text/javascript',
  '.wasm': 'application/wasm', '.json': 'application/json' };

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  for (const [prefix, root] of Object.entries(roots)) {
    if (!url.pathname.startsWith(prefix)) continue;
    const file = normalize(join(root, decodeURIComponent(url.pathname.slice(prefix.length))));
    if (!file.startsWith(root)) break;
    try {
      if (!statSync(file).isFile()) break;
      res.writeHead(200, { 'content-type': types[extname(file)] || 'application/octet-stream' });
      res.end(readFileSync(file));
      return;
    } catch {
      break;
    }
  }
  res.writeHead(404);
  res.end('not found');
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const base = `http://127.0.0.1:${server.address().port}`;

const userDataDir = mkdtempSync(join(tmpdir(), 'rvd-chromium-'));
let failed = 1;
let context;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(`console error: ${msg.text()}`); });
  await page.goto(`${base}/page/index.html`);
  await page.waitForFunction(() => window.__results !== undefined, null, { timeout: 60000 });
  const out = await page.evaluate(() => window.__results);
  const version = context.browser() ? context.browser().version() : out.userAgent;
  console.log(`browser: Chromium ${version} (headless), page ${base}/page/index.html, package ${pkgDir}`);
  for (const r of out.results) console.log(`${r.ok ? 'ok    ' : 'FAILED'} ${r.name}${r.detail ? ' — ' + r.detail : ''}`);
  // A 404 for favicon.ico is Chromium's own request, not the page's.
  const realErrors = errors.filter((e) => !/favicon|404/.test(e));
  for (const e of realErrors) console.log(`FAILED ${e}`);
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  failed = out.failed + realErrors.length;
  console.log(`browser: ${out.results.length - out.failed} passed, ${failed} failed`);
} finally {
  if (context) await context.close();
  server.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(failed === 0 ? 0 : 1);
