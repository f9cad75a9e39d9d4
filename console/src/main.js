'use strict';
// relais-console: node src/main.js --relais=localhost:50051 --ca=... --cert=... --key=...
// Serves on --listen (loopback by default). The certificate is the one of the
// service this console is deployed for: members of other services cannot log
// in through it (relaisd refuses certificate_service_mismatch).

const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const { parseArgs } = require('node:util');
const { createApp } = require('./app');
const { Relais } = require('./relais');

const { values } = parseArgs({
  options: {
    relais: { type: 'string', default: 'localhost:50051' },
    ca: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    insecure: { type: 'boolean', default: false },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'insecure-http': { type: 'boolean', default: false },
    listen: { type: 'string', default: '127.0.0.1:8080' },
    'idle-minutes': { type: 'string', default: '15' },
  },
});

if (!values.insecure && !(values.ca && values.cert && values.key)) {
  console.error('relais-console: --ca, --cert and --key (the service\'s client certificate) are required');
  process.exit(2);
}
const [host, port] = values.listen.split(/:(?=[0-9]+$)/);
const loopback = host === '127.0.0.1' || host === 'localhost';
if ((values.insecure || values['insecure-http']) && !loopback) {
  console.error('relais-console: --insecure and --insecure-http only on loopback');
  process.exit(2);
}
const tls = values['tls-cert'] && values['tls-key'];
if (!tls && !values['insecure-http']) {
  console.error('relais-console: --tls-cert and --tls-key required (or --insecure-http on loopback)');
  process.exit(2);
}
const relais = new Relais(values.relais,
  values.insecure ? null : { ca: values.ca, cert: values.cert, key: values.key });
const app = createApp({
  relais,
  // The session cookie is Secure whenever the console speaks HTTPS.
  secureCookies: Boolean(tls),
  idleMinutes: Number(values['idle-minutes']),
});
const server = tls
  ? https.createServer({ cert: fs.readFileSync(values['tls-cert']),
    key: fs.readFileSync(values['tls-key']), minVersion: 'TLSv1.2' }, app)
  : http.createServer(app);
server.listen(Number(port), host, () => {
  const address = server.address();
  console.log(`relais-console serving on ${tls ? 'https' : 'http'}://${host}:${address.port}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => { relais.close(); process.exit(0); }));
}
