'use strict';
// The console's web application: login, the audit log for auditors, their
// service's handovers for coordinators. Every page is rendered on the server
// from calls to relaisd made with the member's own token, which stays in the
// server-side session: the browser holds only an HttpOnly, SameSite=Strict
// session cookie. Forms carry a synchronizer CSRF token; the CSP allows
// nothing but this origin's own files.

const crypto = require('node:crypto');
const path = require('node:path');
const express = require('express');
const session = require('express-session');
const helmet = require('helmet');
const nunjucks = require('nunjucks');
const { csrfSync } = require('csrf-sync');
const auditPages = require('./audit_pages');
const carePages = require('./care_pages');
const { grpcStatus } = require('./relais');

const PAGE_SIZE = 50;
const DECISIONS = ['DECISION_ALLOW', 'DECISION_DENY'];
const DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

// `relais`: a Relais client (src/relais.js). `secureCookies`: false only for
// plain HTTP on loopback in tests (browsers treat localhost as secure anyway).
function createApp({ relais, secureCookies = true, sessionSecret, idleMinutes = 15 }) {
  const app = express();
  app.disable('x-powered-by');
  const env = nunjucks.configure(path.join(__dirname, '..', 'views'), {
    autoescape: true,
    express: app,
    throwOnUndefined: false,
  });
  env.addFilter('time', (ts) => (ts && ts.seconds ? new Date(ts.seconds * 1000).toISOString()
    .replace('T', ' ').slice(0, 19) : ''));
  env.addFilter('short', (s) => String(s || '').replace(/^(DECISION|ACTION|ROLE|ACCOMPANIMENT_BASIS)_/, ''));
  app.set('view engine', 'njk');

  app.use(helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'none'"],
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'img-src': ["'self'"],
        'connect-src': ["'self'"],
        'form-action': ["'self'"],
        'frame-ancestors': ["'none'"],
        'base-uri': ["'none'"],
      },
    },
    referrerPolicy: { policy: 'no-referrer' },
  }));
  app.use('/static', express.static(path.join(__dirname, '..', 'public'), { index: false }));
  // The chart library, from the pinned package: nothing from another origin.
  const chartJs = path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js');
  app.get('/static/vendor/chart.umd.min.js', (req, res) => res.sendFile(chartJs));
  app.use(express.urlencoded({ extended: false, limit: '16kb' }));
  app.use(session({
    name: 'relais_console',
    secret: sessionSecret || crypto.randomBytes(32).toString('hex'),
    resave: false,
    saveUninitialized: false,
    rolling: true,
    cookie: {
      httpOnly: true,
      secure: secureCookies,
      sameSite: 'strict',
      maxAge: idleMinutes * 60 * 1000,
    },
  }));
  const { csrfSynchronisedProtection, generateToken } = csrfSync({
    getTokenFromRequest: (req) => req.body && req.body._csrf,
  });
  app.use((req, res, next) => {
    res.set('Cache-Control', 'no-store');
    res.locals.csrf = generateToken(req);
    res.locals.member = req.session.member || null;
    next();
  });
  app.use(csrfSynchronisedProtection);

  // Signed in while the token lives: the session ends with it, and at the
  // first UNAUTHENTICATED (revoked, logged out elsewhere, expired).
  const requireLogin = (req, res, next) => {
    const member = req.session.member;
    if (!member || Date.now() >= member.expires_at_ms) {
      return req.session.destroy(() => res.redirect(303, '/login'));
    }
    return next();
  };
  const call = async (req, service, method, request) => {
    try {
      return await relais.call(service, method, request, req.session.member.token);
    } catch (err) {
      if (err.code === grpcStatus.UNAUTHENTICATED) req.session.member.expires_at_ms = 0;
      throw err;
    }
  };

  // Auditors start at the audit log, everyone else at their handovers.
  const home = (member) => (member.roles.includes('ROLE_AUDITOR') ? '/audit' : '/handovers');
  app.get('/', requireLogin, (req, res) => res.redirect(303, home(req.session.member)));

  app.get('/login', (req, res) => res.render('login.njk', { error: null }));

  app.post('/login', async (req, res) => {
    const login = String(req.body.login || '').slice(0, 128);
    const password = String(req.body.password || '').slice(0, 256);
    try {
      // The socket's address (no proxy is trusted): "::ffff:10.0.0.1" -> "10.0.0.1".
      const from = String(req.socket.remoteAddress || '').replace(/^::ffff:/, '');
      const reply = await relais.call('AuthService', 'Login', { login, password }, undefined, from);
      await new Promise((resolve, reject) => req.session.regenerate((e) => (e ? reject(e) : resolve())));
      const expires = reply.expires_at && reply.expires_at.seconds
        ? Number(reply.expires_at.seconds) * 1000 : Date.now() + idleMinutes * 60000;
      req.session.member = {
        token: reply.token,
        expires_at_ms: expires,
        login,
        member_id: reply.member_id,
        service_id: reply.service_id,
        roles: reply.roles,
      };
      // The cookie lasts no longer than the token (nor than the idle limit).
      req.session.cookie.maxAge = Math.max(0, Math.min(expires - Date.now(), idleMinutes * 60000));
      res.redirect(303, home(req.session.member));
    } catch (err) {
      res.status(401).render('login.njk', { error: err.reason || 'login refused' });
    }
  });

  app.post('/logout', requireLogin, async (req, res) => {
    try {
      await call(req, 'AuthService', 'Logout', {});
    } catch (err) {
      // The session ends here whatever relaisd answered.
    }
    req.session.destroy(() => res.redirect(303, '/login'));
  });

  app.get('/audit', requireLogin, async (req, res) => {
    const q = req.query;
    const filters = {
      youth_id: String(q.youth_id || '').slice(0, 64),
      actor_member_id: String(q.actor_member_id || '').slice(0, 64),
      actor_service_id: String(q.actor_service_id || '').slice(0, 64),
      decision: DECISIONS.includes(q.decision) ? q.decision : '',
      reason: String(q.reason || '').slice(0, 64),
      from: DATE.test(q.from || '') ? q.from : '',
      to: DATE.test(q.to || '') ? q.to : '',
      page_token: String(q.page_token || '').slice(0, 512),
    };
    const request = {
      youth_id: filters.youth_id,
      actor_member_id: filters.actor_member_id,
      actor_service_id: filters.actor_service_id,
      page_size: PAGE_SIZE,
      page_token: filters.page_token,
    };
    if (filters.decision) request.decision = filters.decision;
    if (filters.from) request.start_time = { seconds: Date.parse(`${filters.from}T00:00:00Z`) / 1000 };
    if (filters.to) request.end_time = { seconds: Date.parse(`${filters.to}T00:00:00Z`) / 1000 + 86400 };
    let events = [];
    let next = '';
    let error = null;
    let verified = null;
    try {
      const reply = await call(req, 'AuditService', 'QueryEvents', request);
      // QueryEvents has no reason filter: applied to each page here.
      events = filters.reason ? reply.events.filter((e) => e.reason_code === filters.reason) : reply.events;
      next = reply.next_page_token;
      if (!filters.page_token) verified = await call(req, 'AuditService', 'VerifyLog', {});
    } catch (err) {
      error = err.reason;
    }
    const nextQuery = next ? new URLSearchParams({ ...filters, page_token: next }).toString() : '';
    res.render('audit.njk', { filters, events, nextQuery, error, verified, decisions: DECISIONS });
  });

  auditPages.register(app, { requireLogin, call });
  carePages.register(app, { requireLogin, call });

  app.use((err, req, res, next) => {
    if (err && err.code === 'EBADCSRFTOKEN') {
      return res.status(403).render('error.njk', { message: 'This form has expired: reload the page.' });
    }
    if (res.headersSent) return next(err);
    return res.status(500).render('error.njk', { message: 'The console met an error.' });
  });
  return app;
}

module.exports = { createApp };
