import http from 'node:http';

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
      server.listen(port, host, () => {
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
