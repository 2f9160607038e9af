/**
 * Free loopback TCP ports for tests that must name a port themselves (e.g. the CLI test of
 * `--rtmp-port <n>`); prefer `--rtmp-port 0` where the server reports the port it bound.
 */
import { createServer } from 'node:net';

/** freePort asks the kernel for a free loopback TCP port, closes it, and returns its number. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
