'use strict';
// Pages for auditors: the access charts and the insider pattern, the
// break-glass review queue, a youth's access report. Everything is read
// through AuditService with the member's token, so relaisd decides (and
// audits) who may see it.

const DAY_MS = 24 * 3600 * 1000;
const MAX_PAGES = 20;  // at most 20 x 1000 events summarised per page view
const READ_ACTIONS = new Set(['ACTION_READ_ENTRY', 'ACTION_LIST_ENTRIES', 'ACTION_READ_YOUTH']);
const VERDICTS = ['EMERGENCY_VERDICT_JUSTIFIED', 'EMERGENCY_VERDICT_UNJUSTIFIED'];
const LANGUAGES = ['fr', 'en'];

const toTimestamp = (ms) => ({ seconds: Math.floor(ms / 1000), nanos: 0 });
const dayOf = (ts) => new Date(Number(ts.seconds) * 1000).toISOString().slice(0, 10);

// Every event of the period, up to MAX_PAGES pages; `truncated` if more.
async function eventsOf(call, req, days) {
  const now = Date.now();
  const request = {
    start_time: toTimestamp(now - days * DAY_MS),
    end_time: toTimestamp(now + 60000),
    page_size: 1000,
  };
  const events = [];
  for (let page = 0; page < MAX_PAGES; ++page) {
    const reply = await call(req, 'AuditService', 'QueryEvents', request);
    events.push(...reply.events);
    if (!reply.next_page_token) return { events, truncated: false };
    request.page_token = reply.next_page_token;
  }
  return { events, truncated: true };
}

// Per day: allowed and denied accesses by service; denials by reason; and
// the members who read the most distinct youths (the insider pattern).
function summarise(events, days) {
  const labels = [];
  for (let d = days - 1; d >= 0; --d) labels.push(new Date(Date.now() - d * DAY_MS).toISOString().slice(0, 10));
  const index = new Map(labels.map((l, i) => [l, i]));
  const byService = new Map();
  const byReason = new Map();
  const readers = new Map();
  const series = (map, key) => {
    if (!map.has(key)) map.set(key, new Array(labels.length).fill(0));
    return map.get(key);
  };
  for (const e of events) {
    const i = index.get(dayOf(e.time));
    if (i === undefined) continue;
    const service = e.actor_service_id || '(none)';
    const deny = e.decision === 'DECISION_DENY';
    series(byService, `${service} ${deny ? 'refusés' : 'autorisés'}`)[i] += 1;
    if (deny) series(byReason, e.reason_code || '(none)')[i] += 1;
    if (!deny && e.youth_id && e.actor_member_id && READ_ACTIONS.has(e.action)) {
      if (!readers.has(e.actor_member_id)) {
        readers.set(e.actor_member_id, { member: e.actor_member_id, service, youths: new Set() });
      }
      readers.get(e.actor_member_id).youths.add(e.youth_id);
    }
  }
  const toDatasets = (map) => [...map.entries()].sort().map(([label, data]) => ({ label, data }));
  const top = [...readers.values()]
    .map((r) => ({ member: r.member, service: r.service, youths: r.youths.size }))
    .sort((a, b) => b.youths - a.youths || a.member.localeCompare(b.member))
    .slice(0, 10);
  return {
    labels,
    services: toDatasets(byService),
    reasons: toDatasets(byReason),
    top,
  };
}

function register(app, { requireLogin, call }) {
  app.get('/charts', requireLogin, async (req, res) => {
    const days = [7, 30, 90].includes(Number(req.query.days)) ? Number(req.query.days) : 30;
    try {
      const { events, truncated } = await eventsOf(call, req, days);
      const summary = summarise(events, days);
      res.render('charts.njk', {
        days, summary, truncated, total: events.length,
        // Read by /static/charts.js from a non-executable JSON block.
        // "<" escaped: no value can close the script element it sits in.
        chartData: JSON.stringify({ labels: summary.labels, services: summary.services, reasons: summary.reasons })
          .replace(/</g, '\\u003c'),
      });
    } catch (err) {
      res.status(502).render('error.njk', { message: err.reason });
    }
  });

  app.get('/emergency', requireLogin, async (req, res) => {
    const all = req.query.all === '1';
    try {
      const reply = await call(req, 'AuditService', 'ListEmergencyAccesses',
        { pending_only: !all, page_size: 200 });
      res.render('emergency.njk', { grants: reply.grants, all, verdicts: VERDICTS, notice: req.query.done || '' });
    } catch (err) {
      res.status(502).render('error.njk', { message: err.reason });
    }
  });

  app.post('/emergency/review', requireLogin, async (req, res) => {
    const verdict = VERDICTS.includes(req.body.verdict) ? req.body.verdict : '';
    try {
      await call(req, 'AuditService', 'ReviewEmergencyAccess', {
        grant_id: String(req.body.grant_id || '').slice(0, 64),
        verdict,
        note: String(req.body.note || '').slice(0, 2000),
      });
      res.redirect(303, '/emergency?done=1');
    } catch (err) {
      res.status(400).render('error.njk', { message: err.reason });
    }
  });

  app.get('/report', requireLogin, async (req, res) => {
    const youth = String(req.query.youth_id || '').slice(0, 64);
    const language = LANGUAGES.includes(req.query.language) ? req.query.language : 'fr';
    if (!youth) return res.render('report.njk', { youth, language, lines: null });
    try {
      const reply = await call(req, 'AuditService', 'AccessReport',
        { youth_id: youth, format: 'ACCESS_REPORT_FORMAT_JSON', language });
      return res.render('report.njk', { youth, language, lines: reply.lines });
    } catch (err) {
      return res.render('report.njk', { youth, language, lines: null, error: err.reason });
    }
  });
}

module.exports = { register, summarise };
