/**
 * A minimal server-sent events client for tests: connects with fetch, parses `event:`/`data:`
 * frames, and lets a test wait (with a deadline) for a frame matching a predicate.
 */

/** SseMessage is one parsed frame. */
export interface SseMessage {
  event: string;
  data: unknown;
  /** Date.now() when it arrived. */
  at: number;
}

/** SseClient is a live connection. */
export interface SseClient {
  messages: SseMessage[];
  headers: Headers;
  /** next resolves with the first message (past or future) matching, or rejects after `timeoutMs`. */
  next(match: (m: SseMessage) => boolean, timeoutMs?: number): Promise<SseMessage>;
  close(): void;
}

/** connectSse opens `url` and resolves once the response headers are in. */
export async function connectSse(url: string): Promise<SseClient> {
  const abort = new AbortController();
  const res = await fetch(url, { signal: abort.signal });
  if (res.status !== 200 || !res.body) throw new Error(`SSE ${url}: status ${res.status}`);
  const messages: SseMessage[] = [];
  const waiters: { match: (m: SseMessage) => boolean; resolve: (m: SseMessage) => void }[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of frame.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length === 0) continue;
          const m = { event, data: JSON.parse(data.join('\n')), at: Date.now() };
          messages.push(m);
          for (const w of [...waiters]) if (w.match(m)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m); }
        }
      }
    } catch { /* aborted */ }
  })();
  return {
    messages, headers: res.headers,
    next(match, timeoutMs = 10_000) {
      const found = messages.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching SSE message within ${timeoutMs} ms; got ${messages.map((m) => m.event).join(', ')}`)), timeoutMs);
        waiters.push({ match, resolve: (m) => { clearTimeout(timer); resolve(m); } });
      });
    },
    close: () => abort.abort(),
  };
}
