// Test plumbing, not part of the application: preloaded with `node --require ./net-guard.cjs`, before any
// other module. Every outgoing TCP connection (net, http, https, fetch/undici and the OTLP exporters all
// end in `net.Socket.prototype.connect`) and every DNS lookup is written to NET_GUARD_LOG, one JSON line
// each, synchronously, so the record survives any way the process ends. Only the `host:port` pairs in
// NET_GUARD_ALLOW (comma-separated) are let through; anything else is refused before a packet leaves (the
// socket is destroyed with an error, the lookup fails), so a test can never reach a real service.
'use strict';
const dns = require('node:dns');
const fs = require('node:fs');
const net = require('node:net');

const logFile = process.env.NET_GUARD_LOG;
if (!logFile) throw new Error('net-guard: NET_GUARD_LOG is not set');
const allowed = new Set((process.env.NET_GUARD_ALLOW ?? '').split(',').filter(Boolean));
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1']);

function record(entry) {
  fs.appendFileSync(logFile, `${JSON.stringify({ pid: process.pid, ...entry })}\n`);
}

/** The host and port of `socket.connect(...)`'s arguments: (options[, cb]), (port[, host][, cb]) or (path[, cb]). */
function target(args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (first !== null && typeof first === 'object') {
    if (typeof first.path === 'string') return { path: first.path };
    return { host: first.host ?? 'localhost', port: Number(first.port) };
  }
  if (typeof first === 'string' && !/^\d+$/.test(first)) return { path: first };
  return { host: typeof args[1] === 'string' ? args[1] : 'localhost', port: Number(first) };
}

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  const to = target(args);
  if (to.path !== undefined) return connect.apply(this, args);
  const ok = allowed.has(`${to.host}:${to.port}`);
  record({ kind: 'connect', host: to.host, port: to.port, allowed: ok });
  if (ok) return connect.apply(this, args);
  process.nextTick(() => this.destroy(new Error(`net-guard: connection to ${to.host}:${to.port} refused`)));
  return this;
};

const lookup = dns.lookup;
dns.lookup = function guardedLookup(hostname, ...rest) {
  const ok = LOOPBACK_NAMES.has(hostname);
  record({ kind: 'lookup', host: hostname, allowed: ok });
  if (ok) return lookup.call(this, hostname, ...rest);
  const callback = rest[rest.length - 1];
  const error = Object.assign(new Error(`net-guard: lookup of ${hostname} refused`), { code: 'ENOTFOUND' });
  if (typeof callback === 'function') process.nextTick(() => callback(error));
  return {};
};
const lookupPromise = dns.promises.lookup;
dns.promises.lookup = function guardedLookupPromise(hostname, ...rest) {
  const ok = LOOPBACK_NAMES.has(hostname);
  record({ kind: 'lookup', host: hostname, allowed: ok });
  if (ok) return lookupPromise.call(this, hostname, ...rest);
  return Promise.reject(Object.assign(new Error(`net-guard: lookup of ${hostname} refused`), { code: 'ENOTFOUND' }));
};
