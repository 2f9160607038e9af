/**
 * Kills the inference pool's worker threads of a running server from outside, as a crash would:
 * through the Node inspector the server was started with (`NODE_OPTIONS=--inspect=127.0.0.1:<port>`),
 * the main thread's session attaches to each worker thread (NodeWorker domain) and runs
 * `process.exit(1)` inside it, which ends that thread alone (Node's worker_threads semantics).
 * Only Piscina's worker threads are ended.
 */
import WebSocket from 'ws';

/** inspectorEnv is the environment that makes a server listen for the inspector on `port` (loopback). */
export const inspectorEnv = (port: number): NodeJS.ProcessEnv => ({ NODE_OPTIONS: `--inspect=127.0.0.1:${port}` });

/**
 * killWorkerThreads ends every Piscina worker thread of the process whose inspector listens on `port` and
 * resolves with how many it ended (rejects when none is found within `timeoutMs`).
 */
export async function killWorkerThreads(port: number, timeoutMs = 10_000): Promise<number> {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as { webSocketDebuggerUrl: string }[];
  const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  let id = 0;
  const send = (method: string, params: unknown) => ws.send(JSON.stringify({ id: ++id, method, params }));
  try {
    return await new Promise<number>((resolve, reject) => {
      const sessions: string[] = [];
      const timer = setTimeout(() => (sessions.length > 0 ? finish() : reject(new Error('no worker thread attached'))), timeoutMs);
      // Workers attach one message each, right after NodeWorker.enable; give them a moment together.
      let settle: NodeJS.Timeout | undefined;
      const finish = () => {
        clearTimeout(timer);
        for (const sessionId of sessions) {
          send('NodeWorker.sendMessageToWorker', {
            sessionId,
            message: JSON.stringify({ id: 1, method: 'Runtime.evaluate', params: { expression: 'process.exit(1)' } }),
          });
        }
        // The messages are written before the socket closes.
        setTimeout(() => resolve(sessions.length), 200);
      };
      ws.on('message', (data) => {
        const message = JSON.parse(String(data)) as { method?: string; params?: { sessionId: string; workerInfo?: { url?: string } } };
        if (message.method !== 'NodeWorker.attachedToWorker') return;
        // Only the pool's threads: Node's own module-loader thread (node:internal/modules/esm/worker,
        // under tsx) is a worker too, and the process cannot go on without it.
        if (!message.params!.workerInfo?.url?.includes('/piscina/')) return;
        sessions.push(message.params!.sessionId);
        clearTimeout(settle);
        settle = setTimeout(finish, 300);
      });
      send('NodeWorker.enable', { waitForDebuggerOnStart: false });
    });
  } finally {
    ws.close();
  }
}
