/**
 * Free loopback TCP ports for tests that must name a port themselves (the server's `--rtmp-port 0`
 * does not work with node-media-server v4, see test/e2e/config-cli.test.ts).
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
