'use strict';
// Relais's public gRPC API, as any service's application reaches it: mutual
// TLS with the certificate of the service this console is deployed for, and
// the member's bearer token on each call. Nothing here bypasses relaisd: every
// call is authorised and audited there.

const path = require('node:path');
const fs = require('node:fs');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_ROOT = path.join(__dirname, '..', '..', 'proto');

function loadApi() {
  const files = ['audit', 'auth', 'care', 'record', 'directory'].map(
    (name) => `relais/v1/${name}.proto`);
  const definition = protoLoader.loadSync(files, {
    includeDirs: [PROTO_ROOT],
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition).relais.v1;
}

// What the console shows of a refusal: relaisd's human-readable message
// (its reason code is in the status details, for programs).
function reasonOf(err) {
  return err && err.details ? err.details : 'Relais is unreachable';
}

class Relais {
  // `target` host:port; `tls` {ca, cert, key} file paths, or null for
  // relaisd --insecure_dev on loopback (tests and local trials only).
  constructor(target, tls, serverName) {
    const api = loadApi();
    const creds = tls
      ? grpc.credentials.createSsl(fs.readFileSync(tls.ca), fs.readFileSync(tls.key),
        fs.readFileSync(tls.cert))
      : grpc.credentials.createInsecure();
    const options = serverName ? { 'grpc.ssl_target_name_override': serverName } : {};
    this.clients = {};
    for (const name of ['AuditService', 'AuthService', 'CareService', 'RecordService']) {
      this.clients[name] = new api[name](target, creds, options);
    }
  }

  // One unary call; resolves with the response, rejects with the grpc error
  // (its .reason set to relaisd's reason code). `clientAddress`: the browser's
  // address, which relaisd counts failed logins by when it trusts this
  // console's service as a gateway (config auth.login_gateways).
  call(service, method, request, token, clientAddress) {
    const metadata = new grpc.Metadata();
    if (token) metadata.set('authorization', `Bearer ${token}`);
    if (clientAddress) metadata.set('x-relais-client-address', clientAddress);
    const deadline = new Date(Date.now() + 15000);
    return new Promise((resolve, reject) => {
      this.clients[service][method](request, metadata, { deadline }, (err, response) => {
        if (err) {
          err.reason = reasonOf(err);
          reject(err);
        } else {
          resolve(response);
        }
      });
    });
  }

  close() {
    for (const client of Object.values(this.clients)) client.close();
  }
}

module.exports = { Relais, grpcStatus: grpc.status };
