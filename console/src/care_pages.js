'use strict';
// Pages for coordinators: the youths their service follows and the consents it
// holds that are about to end; their service's handovers on a timeline of
// overlap windows (ending soon highlighted), the ones proposed to them to
// accept. CareService decides what the member's service may see and do.

const { status: grpcStatus } = require('@grpc/grpc-js');

const DAY_MS = 24 * 3600 * 1000;
const ENDING_SOON_DAYS = 7;
const WIDTH = 900;

const ms = (ts) => (ts && ts.seconds ? Number(ts.seconds) * 1000 : 0);

// Each handover as a bar on a shared time axis (SVG attributes, not inline
// styles: the CSP allows no inline style).
function timeline(handovers, now) {
  const shown = handovers.filter((h) => ms(h.overlap_start) && ms(h.overlap_end));
  if (shown.length === 0) return { bars: [], height: 0, ticks: [] };
  const from = Math.min(now, ...shown.map((h) => ms(h.overlap_start))) - DAY_MS;
  const to = Math.max(now + DAY_MS, ...shown.map((h) => ms(h.overlap_end))) + DAY_MS;
  const x = (t) => Math.round(((t - from) / (to - from)) * WIDTH);
  const bars = shown.map((h, i) => {
    const end = ms(h.overlap_end);
    const live = h.state === 'HANDOVER_STATE_ACCEPTED' || h.state === 'HANDOVER_STATE_PROPOSED';
    return {
      id: h.id,
      y: 10 + i * 44,
      x: x(ms(h.overlap_start)),
      width: Math.max(2, x(end) - x(ms(h.overlap_start))),
      label: `${h.youth_id} · ${h.from_service_id} → ${h.to_service_id} · `
        + `${new Date(ms(h.overlap_start)).toISOString().slice(0, 10)} → ${new Date(end).toISOString().slice(0, 10)}`,
      state: h.state.replace('HANDOVER_STATE_', '').toLowerCase(),
      endingSoon: live && end >= now && end - now <= ENDING_SOON_DAYS * DAY_MS,
    };
  });
  return { bars, height: 20 + shown.length * 44, now: x(now), width: WIDTH };
}

const EXPIRING_WITHIN_DAYS = 30;

// Where an accompaniment stands now: pending (waits to be vouched for),
// starting (an accepted handover whose window has not opened), or active.
const STANDING = {
  pending: 'à valider par un autre service',
  starting: 'commence avec le relais',
  active: 'en cours',
};
function standing(a, now) {
  if (a.vouch === 'VOUCH_PENDING') return 'pending';
  if (ms(a.start_time) > now) return 'starting';
  return 'active';
}

// A refusal by relaisd is the member's, not the console's failure.
const httpStatus = (err) => (err.code === grpcStatus.PERMISSION_DENIED ? 403 : 502);

function register(app, { requireLogin, call }) {
  app.get('/youths', requireLogin, async (req, res) => {
    try {
      const followed = await call(req, 'CareService', 'ListServiceAccompaniments', { page_size: 500 });
      const expiring = await call(req, 'CareService', 'ListExpiringConsents',
        { within_days: EXPIRING_WITHIN_DAYS, page_size: 500 });
      const now = Date.now();
      res.render('youths.njk', {
        accompaniments: followed.accompaniments.map((a) => {
          const st = standing(a, now);
          return { ...a, standing: st, standingLabel: STANDING[st] };
        }),
        consents: expiring.consents.map((k) => ({
          ...k,
          daysLeft: Math.max(0, Math.ceil((ms(k.valid_until) - now) / DAY_MS)),
          to: k.recipients.map((r) => r.service_id || r.sector_id).join(', '),
        })),
        withinDays: EXPIRING_WITHIN_DAYS,
      });
    } catch (err) {
      res.status(httpStatus(err)).render('error.njk', { message: err.reason });
    }
  });

  app.get('/handovers', requireLogin, async (req, res) => {
    try {
      const reply = await call(req, 'CareService', 'ListHandovers', { page_size: 200 });
      // Accompaniments of other services this service may vouch for.
      const vouch = await call(req, 'CareService', 'ListPendingAccompaniments', { page_size: 200 });
      const me = req.session.member;
      const handovers = reply.handovers;
      const pending = handovers.filter(
        (h) => h.state === 'HANDOVER_STATE_PROPOSED' && h.to_service_id === me.service_id);
      res.render('handovers.njk', {
        handovers, pending, toVouch: vouch.accompaniments, chart: timeline(handovers, Date.now()),
        notice: req.query.done || '',
      });
    } catch (err) {
      res.status(httpStatus(err)).render('error.njk', { message: err.reason });
    }
  });

  app.post('/accompaniments/confirm', requireLogin, async (req, res) => {
    try {
      await call(req, 'CareService', 'ConfirmAccompaniment',
        { accompaniment_id: String(req.body.accompaniment_id || '').slice(0, 64) });
      res.redirect(303, '/handovers?done=vouched');
    } catch (err) {
      res.status(400).render('error.njk', { message: err.reason });
    }
  });

  app.post('/handovers/accept', requireLogin, async (req, res) => {
    const referent = String(req.body.referent_member_id || '').slice(0, 64) || req.session.member.member_id;
    try {
      await call(req, 'CareService', 'AcceptHandover', {
        handover_id: String(req.body.handover_id || '').slice(0, 64),
        referent_member_id: referent,
      });
      res.redirect(303, '/handovers?done=1');
    } catch (err) {
      res.status(400).render('error.njk', { message: err.reason });
    }
  });
}

module.exports = { register, timeline, standing };
