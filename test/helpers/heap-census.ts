/**
 * Heap census of a running server: the server is started with `heapCensusEnv(dir)` (node's own
 * `--heapsnapshot-signal`), and `heapCensus` makes it write a V8 heap snapshot, which V8 precedes
 * with a full garbage collection, then counts live objects by constructor name. This tells a
 * leak (objects still reachable) from memory the allocator has not yet given back to the system.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './server-process.ts';

/** heapCensusEnv is the environment that lets `heapCensus` snapshot a node process (SIGUSR2, files in `dir`). */
export function heapCensusEnv(dir: string): NodeJS.ProcessEnv {
  return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${dir}`.trim() };
}

/** HeapCensus: live objects per asked constructor name, and the bytes of all ArrayBuffer backing stores (Buffers included). */
export interface HeapCensus {
  counts: Record<string, number>;
  arrayBufferBytes: number;
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/**
 * heapCensus signals `pid` for a heap snapshot in `dir`, waits up to `timeoutMs` for the file to be
 * complete, counts objects named in `names`, and deletes the file.
 */
export async function heapCensus(pid: number, dir: string, names: string[], timeoutMs = 60000): Promise<HeapCensus> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  const { file, snap } = await waitFor('heap snapshot written', () => {
    const file = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (!file) return false;
    try {
      return { file, snap: JSON.parse(readFileSync(join(dir, file), 'utf8')) as Snapshot };
    } catch {
      return false; // still being written
    }
  }, timeoutMs, 250);
  rmSync(join(dir, file), { force: true });
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const stride = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const counts: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  let arrayBufferBytes = 0;
  for (let i = 0; i < snap.nodes.length; i += stride) {
    const type = types[snap.nodes[i + iType]];
    const name = snap.strings[snap.nodes[i + iName]];
    if (type === 'object' && name in counts) counts[name]++;
    else if (type === 'native' && name === 'system / JSArrayBufferData') arrayBufferBytes += snap.nodes[i + iSize];
  }
  return { counts, arrayBufferBytes };
}
