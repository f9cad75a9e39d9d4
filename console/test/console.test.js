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
const { Relais } = require('../src/relais');

const ROOT = path.join(__dirname, '..', '..');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.CONSOLE_SCREENSHOTS || path.join(os.tmpdir(), 'relais-console-shots');
const PASSWORD = 'demo-relais-2026';

let work;
let relaisd;
let consoleProcess;
let sajConsole;
let amoConsole;
let amoBase;
let browser;
let base;
let sajBase;
let youth;
let amo;  // the AMO's application, to set the scene through the API

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
  // A second console, deployed for the SAJ, for its coordinator.
  const saj = await startAndWait('node', [
    path.join(ROOT, 'console', 'src', 'main.js'), `--relais=localhost:${port}`,
    `--ca=${certs}/ca.pem`, `--cert=${certs}/clients/svc_saj_charleroi.pem`,
    `--key=${certs}/clients/svc_saj_charleroi.key`, '--listen=127.0.0.1:0',
    `--tls-cert=${certs}/server.pem`, `--tls-key=${certs}/server.key`,
  ], /serving on (https:\/\/127\.0\.0\.1:[0-9]+)/, 'relais-console (SAJ)');
  sajConsole = saj.child;
  sajBase = saj.match[1].replace('127.0.0.1', 'localhost');
  // A third, for the AMO, whose coordinator follows the demo youth.
  const amoServed = await startAndWait('node', [
    path.join(ROOT, 'console', 'src', 'main.js'), `--relais=localhost:${port}`,
    `--ca=${certs}/ca.pem`, `--cert=${certs}/clients/svc_amo_charleroi.pem`,
    `--key=${certs}/clients/svc_amo_charleroi.key`, '--listen=127.0.0.1:0',
    `--tls-cert=${certs}/server.pem`, `--tls-key=${certs}/server.key`,
  ], /serving on (https:\/\/127\.0\.0\.1:[0-9]+)/, 'relais-console (AMO)');
  amoConsole = amoServed.child;
  amoBase = amoServed.match[1].replace('127.0.0.1', 'localhost');
  amo = new Relais(`localhost:${port}`, {
    ca: `${certs}/ca.pem`, cert: `${certs}/clients/svc_amo_charleroi.pem`,
    key: `${certs}/clients/svc_amo_charleroi.key`,
  });
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
  if (amo) amo.close();
  for (const p of [consoleProcess, sajConsole, amoConsole, relaisd]) if (p) p.kill('SIGTERM');
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function logIn(page, login, at = base) {
  await page.goto(`${at}/login`);
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

// The AMO caseworker, through her service's application.
async function asCamille() {
  const reply = await amo.call('AuthService', 'Login', { login: 'amo.camille', password: PASSWORD });
  return reply.token;
}

test('the DPO sees the charts and the members who read the most youths', async () => {
  // Camille reads the demo youth's record: the one reader of the period.
  const token = await asCamille();
  await amo.call('RecordService', 'ListEntries',
    { youth_id: youth, purpose: 'PURPOSE_COORDINATION' }, token);
  const camille = (await amo.call('AuthService', 'Login', { login: 'amo.camille', password: PASSWORD })).member_id;
  const page = await (await browser.createBrowserContext()).newPage();
  await page.setViewport({ width: 1300, height: 900 });
  await logIn(page, 'dpo');
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
  await page.goto(`${base}/charts?days=7`);
  assert.deepEqual(problems, [], 'no script error, no CSP violation');
  await page.waitForSelector('body[data-charts-drawn=yes]');
  const drawn = await page.$$eval('canvas', (cs) => cs.map((c) => c.width > 0));
  assert.deepEqual(drawn, [true, true]);
  const readers = await page.$$eval('#top-readers tbody tr td:first-child', (tds) => tds.map((t) => t.textContent));
  assert.deepEqual(readers, [camille]);
  await page.screenshot({ path: path.join(SHOTS, 'charts.png'), fullPage: true });
  await page.browserContext().close();
});

test('the DPO reviews a break-glass grant, once', async () => {
  const token = await asCamille();
  const grant = await amo.call('CareService', 'OpenEmergencyAccess', {
    youth_id: youth, justification: 'Mise en danger signalée ce soir, famille injoignable',
  }, token);
  const page = await (await browser.createBrowserContext()).newPage();
  await logIn(page, 'dpo');
  await page.goto(`${base}/emergency`);
  const row = `tr[data-grant="${grant.id}"]`;
  await page.waitForSelector(`${row} form.review`);
  await page.select(`${row} select[name=verdict]`, 'EMERGENCY_VERDICT_JUSTIFIED');
  await page.type(`${row} input[name=note]`, 'Appel du commissariat vérifié');
  await Promise.all([page.waitForNavigation(), page.click(`${row} button`)]);
  assert.match(page.url(), /\/emergency\?done=1$/);
  assert.equal(await page.$(row), null, 'no longer pending');
  await page.goto(`${base}/emergency?all=1`);
  const cell = await page.$eval(`${row} td:last-child`, (td) => td.textContent);
  assert.match(cell, /justifié — Appel du commissariat vérifié/);
  await page.browserContext().close();
});

test('the DPO opens the access report of the demo youth, in French and in English', async () => {
  const page = await (await browser.createBrowserContext()).newPage();
  await logIn(page, 'dpo');
  await page.goto(`${base}/report?youth_id=${youth}&language=en`);
  assert.equal(await page.$eval('h1', (h) => h.textContent), 'Who saw this file');
  const rows = await page.$$eval('#report tbody tr', (trs) => trs.length);
  assert.ok(rows > 0);
  await page.screenshot({ path: path.join(SHOTS, 'access-report.png'), fullPage: true });
  await page.goto(`${base}/report?youth_id=${youth}&language=fr`);
  assert.equal(await page.$eval('h1', (h) => h.textContent), 'Qui a consulté ce dossier');
  await page.browserContext().close();
});

test('the SAJ coordinator sees the handover timeline and accepts a pending handover', async () => {
  const token = await asCamille();
  const day = 24 * 3600;
  const now = Math.floor(Date.now() / 1000);
  const handover = await amo.call('CareService', 'ProposeHandover', {
    youth_id: youth, to_service_id: 'svc_saj_charleroi', reason: 'mandat du SAJ',
    overlap_start: { seconds: now + 300, nanos: 0 }, overlap_end: { seconds: now + 5 * day, nanos: 0 },
  }, token);
  const page = await (await browser.createBrowserContext()).newPage();
  await page.setViewport({ width: 1300, height: 900 });
  await logIn(page, 'saj.coord', sajBase);
  // A coordinator lands on the handovers, not the audit log.
  assert.match(page.url(), /\/handovers$/);
  const pending = `#pending tr[data-handover="${handover.id}"]`;
  await page.waitForSelector(pending);
  await Promise.all([page.waitForNavigation(), page.click(`${pending} button`)]);
  assert.match(page.url(), /\/handovers\?done=1$/);
  assert.equal(await page.$(pending), null, 'accepted: nothing left to accept');
  const bar = await page.$eval(`#timeline g[data-handover="${handover.id}"]`, (g) => g.getAttribute('class'));
  assert.match(bar, /accepted/);
  assert.match(bar, /ending-soon/, 'the window ends within 7 days');
  await page.screenshot({ path: path.join(SHOTS, 'handovers.png'), fullPage: true });
  // Through the API: relaisd recorded it.
  const got = await amo.call('CareService', 'GetHandover', { handover_id: handover.id }, token);
  assert.equal(got.state, 'HANDOVER_STATE_ACCEPTED');
  await page.browserContext().close();
});

test('the AMO coordinator sees the youths the service follows and its consents about to expire', async () => {
  const token = await asCamille();
  const day = 24 * 3600;
  const now = Math.floor(Date.now() / 1000);
  const consent = await amo.call('CareService', 'GrantConsent', {
    consent: {
      youth_id: youth, giver: 'CONSENT_GIVER_YOUTH', recipients: [{ service_id: 'svc_saj_charleroi' }],
      categories: ['DATA_CATEGORY_GENERAL'], purposes: ['PURPOSE_COORDINATION'],
      valid_until: { seconds: now + 5 * day, nanos: 0 },
    },
  }, token);
  const page = await (await browser.createBrowserContext()).newPage();
  await page.setViewport({ width: 1300, height: 900 });
  await logIn(page, 'amo.coord', amoBase);
  await page.goto(`${amoBase}/youths`);
  assert.equal(await page.$eval(`#youths tr[data-youth="${youth}"]`, (tr) => tr.getAttribute('class')), 'active');
  // Only the consent ending within 30 days: the demo's own runs six months.
  const rows = await page.$$eval('#expiring tbody tr', (trs) => trs.map((tr) => tr.dataset.consent));
  assert.deepEqual(rows, [consent.id]);
  const row = `#expiring tr[data-consent="${consent.id}"]`;
  assert.match(await page.$eval(row, (tr) => tr.getAttribute('class')), /ending-soon/);
  assert.match(await page.$eval(row, (tr) => tr.textContent), /svc_saj_charleroi/);
  await page.screenshot({ path: path.join(SHOTS, 'youths.png'), fullPage: true });
  await page.browserContext().close();
  // The SAJ's coordinator is not shown the AMO's consent, and a caseworker no list.
  const saj = await (await browser.createBrowserContext()).newPage();
  await logIn(saj, 'saj.coord', sajBase);
  await saj.goto(`${sajBase}/youths`);
  assert.equal(await saj.$(row), null);
  await saj.browserContext().close();
  const field = await (await browser.createBrowserContext()).newPage();
  await logIn(field, 'amo.camille', amoBase);
  const refused = await field.goto(`${amoBase}/youths`);
  assert.equal(refused.status(), 403);
  assert.ok(!(await field.content()).includes(consent.id));
  await field.browserContext().close();
});

test('no page of either console shows an entry body', async () => {
  const token = await asCamille();
  const secret = `Note confidentielle ${Date.now()}`;
  await amo.call('RecordService', 'AddEntry', {
    entry: {
      youth_id: youth, kind: 'ENTRY_KIND_NOTE', category: 'DATA_CATEGORY_GENERAL',
      visibility: 'VISIBILITY_SERVICE_PRIVATE', body: secret,
    },
  }, token);
  const visit = async (at, login, paths) => {
    const page = await (await browser.createBrowserContext()).newPage();
    await logIn(page, login, at);
    for (const p of paths) {
      await page.goto(`${at}${p}`);
      assert.ok(!(await page.content()).includes(secret), `${login} sees the body at ${p}`);
    }
    await page.browserContext().close();
  };
  await visit(base, 'dpo', ['/audit', `/audit?youth_id=${youth}`, '/charts', '/emergency?all=1',
    `/report?youth_id=${youth}&language=fr`]);
  await visit(sajBase, 'saj.coord', ['/handovers', '/youths', '/audit']);
  await visit(amoBase, 'amo.coord', ['/youths', '/handovers']);
});

test('the audit log filters by decision, reason and day', async () => {
  // A refused login to filter for: a member of another service at the AGAJ console.
  const other = await (await browser.createBrowserContext()).newPage();
  await logIn(other, 'amo.coord');
  await other.browserContext().close();
  const page = await (await browser.createBrowserContext()).newPage();
  await logIn(page, 'dpo');
  const today = new Date().toISOString().slice(0, 10);
  await page.goto(`${base}/audit?decision=DECISION_DENY&reason=certificate_service_mismatch&from=${today}&to=${today}`);
  const rows = await page.$$eval('#events tbody tr', (trs) => trs.map((tr) =>
    [...tr.querySelectorAll('td')].map((td) => td.textContent)));
  assert.ok(rows.length >= 1 && rows[0].length === 8, JSON.stringify(rows));
  assert.ok(rows.every((r) => r[6] === 'DENY' && r[7] === 'certificate_service_mismatch'), JSON.stringify(rows));
  // Another day holds none of them.
  await page.goto(`${base}/audit?decision=DECISION_DENY&from=2020-01-01&to=2020-01-02`);
  assert.equal(await page.$eval('#events tbody', (b) => b.textContent.trim()), 'Aucun événement.');
  await page.browserContext().close();
});
