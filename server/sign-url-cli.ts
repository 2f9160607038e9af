/**
 * `npm run sign-url -- --path /live/stream-demo/ --ttl 3600`: prints a signed play query and the
 * URLs it opens (play-signature.ts has the exact form). The secret comes from LIVEMATTE_PLAY_SECRET
 * (or LIVEMATTE_AUTH_PLAY_SECRET) or `--play-secret-file`, never from a flag `ps` would show.
 *
 * `--path` names the folder to open: `/live/stream-<key>/` (one processed output), `/live/<key>/`
 * (one raw input), or `/live/` (every stream). A stream path (`/live/stream-demo`), a file in its
 * folder (`/live/stream-demo/index.m3u8`) or an RTMP URL (`rtmp://host/live/stream-demo`) is
 * taken as that stream's folder. Exit code 1 with one line on stderr for a bad path or no secret.
 */
import { Command, InvalidArgumentError } from 'commander';
import { configFromEnv, resolveConfig } from './config.ts';
import { ALL_STREAMS_FOLDER, folderForPath, signedQuery } from './security/play-signature.ts';
import { readSecretFile } from './security/secret-file.ts';
import { STREAM_APP } from './ingest/stream-key.ts';

function folderOf(path: string): string {
  try {
    return folderForPath(path);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('not a positive integer');
  return n;
}

const program = new Command('sign-url')
  .description('Print a signed play URL query (?expires=..&sig=..) for auth.playSecret.')
  .requiredOption('--path <path>', 'folder to open: /live/stream-<key>/, /live/<key>/ or /live/', folderOf)
  .option('--ttl <seconds>', 'validity from now, in seconds', positiveInt, 3600)
  .option('--play-secret-file <file>', 'read the play secret from a file (its first line)')
  .option('--http-base <url>', 'HTTP origin the printed HLS or player URL starts with', 'http://localhost:8000')
  .option('--rtmp-base <url>', 'RTMP origin the printed RTMP URL starts with', 'rtmp://localhost:1935')
  .option('--query-only', 'print the query alone (for scripts)')
  .parse();

const o = program.opts<{ path: string; ttl: number; playSecretFile?: string; httpBase: string; rtmpBase: string; queryOnly?: boolean }>();
try {
  const secret = o.playSecretFile !== undefined
    ? readSecretFile('--play-secret-file', o.playSecretFile)
    : resolveConfig({ env: configFromEnv(process.env) }).auth.playSecret;
  if (!secret) throw Object.assign(new Error('no play secret: set LIVEMATTE_PLAY_SECRET or pass --play-secret-file'), { code: 'ERR_CONFIG' });
  const expires = Math.floor(Date.now() / 1000) + o.ttl;
  const query = signedQuery(secret, o.path, expires);
  if (o.queryOnly) {
    process.stdout.write(`${query}\n`);
  } else {
    const name = o.path === ALL_STREAMS_FOLDER ? '<name>' : o.path.slice(ALL_STREAMS_FOLDER.length, -1);
    const lines = [
      `folder:  ${o.path} (until ${new Date(expires * 1000).toISOString()})`,
      `query:   ${query}`,
      o.path === ALL_STREAMS_FOLDER
        ? `player:  ${o.httpBase}/?${query}`
        : name.startsWith('stream-') ? `hls:     ${o.httpBase}/${STREAM_APP}/${name}/index.m3u8?${query}` : undefined,
      `rtmp:    ${o.rtmpBase}/${STREAM_APP}/${name}?${query}`,
    ];
    process.stdout.write(`${lines.filter(Boolean).join('\n')}\n`);
  }
} catch (err) {
  const e = err as Error & { code?: string };
  process.stderr.write(`sign-url: ${e.code ? `${e.code}: ` : ''}${e.message}\n`);
  process.exit(1);
}
