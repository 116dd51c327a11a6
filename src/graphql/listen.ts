import http from 'node:http';

/**
 * Connections the kernel queues before the server accepts them (Node's default is 511; Linux caps it at
 * net.core.somaxconn). Thousands of dashboards reconnecting at once after a restart must queue, not be reset.
 */
export const LISTEN_BACKLOG = 4096;

/** Why the port could not be bound, as one line a user can act on. */
export class PortError extends Error {}

/**
 * Binds the port before anything else happens at start-up (seeding, the bootstrap key). Until startServer takes the
 * server over, every request is answered with 503.
 */
export async function bindPort(port: number, host: string, names = { port: 'PORT', host: 'HOST' }): Promise<http.Server> {
  const server = http.createServer((_req, res) => {
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' }).end(JSON.stringify({ errors: [{ message: 'Starting.' }] }));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new PortError(`port ${port} is in use; set ${names.port}`);
    if (code === 'EACCES') throw new PortError(`port ${port} needs privileges this process does not have; set ${names.port}`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new PortError(`host ${host} is not an address of this machine; set ${names.host}`);
    throw err;
  }
  return server;
}
