'use strict';
// The console end to end, in headless Chromium (Debian's chromium, driven by
// puppeteer-core, which never downloads a browser): a demo relaisd over mutual
// TLS, the console deployed for the AGAJ (the DPO's service) over HTTPS.
// RELAISD names the relaisd binary; screenshots go to CONSOLE_SCREENSHOTS.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const puppeteer = require('puppeteer-core');

const ROOT = path.join(__dirname, '..', '..');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.CONSOLE_SCREENSHOTS || path.join(os.tmpdir(), 'relais-console-shots');
const PASSWORD = 'demo-relais-2026';

let work;
let relaisd;
let consoleProcess;
let browser;
let base;
let youth;

// Starts `cmd`, resolves with its output once `pattern` matches it.
function startAndWait(cmd, args, pattern, label) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not start:\n${output}`)), 90000);
    const onData = (chunk) => {
      output += chunk.toString();
      const m = output.match(pattern);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m, output: () => output });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${label} exited ${code}:\n${output}`)));
  });
}

before(async () => {
  assert.ok(process.env.RELAISD, 'RELAISD names the relaisd binary');
  fs.mkdirSync(SHOTS, { recursive: true });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'relais-console-'));
  const certs = path.join(work, 'certs');
  execFileSync('bash', [path.join(ROOT, 'deploy', 'make-dev-certs.sh'), certs], { stdio: 'ignore' });
  const started = await startAndWait(process.env.RELAISD, [
    '--demo', `--db=${work}/relais.db`, `--keys_dir=${work}/keys`, '--listen=127.0.0.1:0',
    '--metrics_listen=', `--tls_cert=${certs}/server.pem`, `--tls_key=${certs}/server.key`,
    `--tls_client_ca=${certs}/ca.pem`,
  ], /Relais demo is serving[\s\S]*/, 'relaisd');
  relaisd = started.child;
  const out = started.output();
  const port = out.match(/"address":"127\.0\.0\.1:([0-9]+)"/)[1];
  youth = out.match(/Demo youth id: (\S+)/)[1];
  const served = await startAndWait('node', [
    path.join(ROOT, 'console', 'src', 'main.js'), `--relais=localhost:${port}`,
    `--ca=${certs}/ca.pem`, `--cert=${certs}/clients/svc_agaj.pem`,
    `--key=${certs}/clients/svc_agaj.key`, '--listen=127.0.0.1:0',
    `--tls-cert=${certs}/server.pem`, `--tls-key=${certs}/server.key`,
  ], /serving on (https:\/\/127\.0\.0\.1:[0-9]+)/, 'relais-console');
  consoleProcess = served.child;
  base = served.match[1].replace('127.0.0.1', 'localhost');
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // The dev CA is not in the browser's store; running as root needs no sandbox.
    acceptInsecureCerts: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
});

after(async () => {
  if (browser) await browser.close();
  for (const p of [consoleProcess, relaisd]) if (p) p.kill('SIGTERM');
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function logIn(page, login) {
  await page.goto(`${base}/login`);
  await page.type('input[name=login]', login);
  await page.type('input[name=password]', PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click('#login button')]);
}

test('the DPO logs in, filters the audit log to the demo youth and sees the chain verified', async () => {
  const page = await (await browser.createBrowserContext()).newPage();
  await logIn(page, 'dpo');
  assert.match(page.url(), /\/audit$/);
  const [cookie] = await page.cookies();
  assert.equal(cookie.name, 'relais_console');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.secure, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(await page.evaluate(() => document.cookie), '', 'the page cannot read the session');

  await page.type('input[name=youth_id]', youth);
  await Promise.all([page.waitForNavigation(), page.click('.filters button')]);
  const youths = await page.$$eval('#events tbody tr td:nth-child(6)', (tds) => tds.map((td) => td.textContent));
  assert.ok(youths.length > 0, 'the demo youth has events');
  assert.ok(youths.every((y) => y === youth), `only the demo youth: ${youths}`);
  const status = await page.$eval('#verify', (p) => ({ cls: p.className, text: p.textContent }));
  assert.match(status.cls, /\bok\b/, status.text);
  await page.screenshot({ path: path.join(SHOTS, 'audit-log.png'), fullPage: true });
  await page.browserContext().close();
});

test('a form with a forged or missing CSRF token is refused and changes nothing', async () => {
  const page = await (await browser.createBrowserContext()).newPage();
  await logIn(page, 'dpo');
  const statuses = await page.evaluate(async () => {
    const post = (body) => fetch('/logout', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body,
      redirect: 'manual',
    }).then((r) => r.status);
    return [await post(''), await post('_csrf=forged-token')];
  });
  assert.deepEqual(statuses, [403, 403]);
  // Still logged in: neither post logged the member out.
  await page.goto(`${base}/audit`);
  assert.match(page.url(), /\/audit$/);
  await page.browserContext().close();
});

test('a member of another service cannot log in through this console, nor anyone without a session', async () => {
  const page = await (await browser.createBrowserContext()).newPage();
  await logIn(page, 'amo.camille');
  assert.match(page.url(), /\/login$/);
  assert.ok(await page.$('.error'), 'the refusal is shown');
  await page.goto(`${base}/audit?youth_id=${youth}`);
  assert.match(page.url(), /\/login$/, 'no session: back to the login page');
  await page.browserContext().close();
});
