/**
 * A throwaway Redis for tests: Debian's `redis-server` on a free loopback port, no persistence.
 * `stop()` and `start()` again on the same port make a registry outage.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from './free-port.ts';

/** RedisServer is one test server. */
export interface RedisServer {
  url: string;
  port: number;
  /** start (again) on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** stop kills it (SIGKILL: an outage, not a shutdown) and waits for its exit. */
  stop(): Promise<void>;
}

/** startRedis starts a server and resolves once it answers PING (10 s at most). */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      const deadline = Date.now() + 10_000;
      while (!(await pings(port))) {
        if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}); is it installed (apt-get install redis-server)?`);
        if (Date.now() > deadline) throw new Error('redis-server did not answer within 10 s');
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
    },
  };
  await server.start();
  return server;
}

function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.setTimeout(500);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => { socket.destroy(); resolve(d.toString().startsWith('+PONG')); });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
  });
}
