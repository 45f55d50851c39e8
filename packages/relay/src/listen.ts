/*
 * Listening on a `host:port` setting, for the OTLP/HTTP server and the OTLP/gRPC listener alike.
 */
import type { AddressInfo, Server } from 'node:net';
import { listenAddress } from './config.js';

/** Where a server listens: the bound host and port, and `http://host:port` (IPv6 in brackets). */
export interface BoundAddress {
  host: string;
  port: number;
  url: string;
}

/**
 * Listens on `listen` (a valid `host:port` setting); rejects when it cannot (the port is taken). Once it
 * listens, a failing socket no longer crashes the process (the default for an unhandled 'error').
 */
export function listenOn(server: Server, listen: string): Promise<BoundAddress> {
  const { host, port } = listenAddress(listen);
  return new Promise<BoundAddress>((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      server.on('error', () => {});
      const bound = server.address() as AddressInfo;
      const shown = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
      resolve({ host: bound.address, port: bound.port, url: `http://${shown}:${bound.port}` });
    });
  });
}
