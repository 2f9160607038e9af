/**
 * The command line: `npm start -- [--config file.yaml] [--rtmp-port n] [--http-port n] [--media-root dir] ...`.
 * Precedence: defaults < config file < LIVEMATTE_* environment < flags. SIGTERM/SIGINT close cleanly.
 *
 * The publish and play secrets are best given as LIVEMATTE_AUTH_PUBLISH_SECRET and
 * LIVEMATTE_PLAY_SECRET or in files (`--publish-secret-file`, `--play-secret-file`): a process's
 * arguments are readable by every local user (`ps`), its environment only by its own user and root.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { FRAME_PLUGINS } from '../plugins/index.ts';
import { configFromEnv, loadConfigFile, resolveConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { start } from './app.ts';
import { RAW_PLAY_MODES } from './config-schema.ts';
import { readSecretFile } from './security/secret-file.ts';

function int(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('not an integer');
  return n;
}

const program = new Command('live-matte')
  .description('Live-video AI media server: RTMP in, background replacement, RTMP and HLS out.')
  .option('-c, --config <file>', 'YAML config file (see config.example.yaml)')
  .option('--bind <address>', 'listen address')
  .option('--rtmp-port <port>', 'RTMP port', int)
  .option('--http-port <port>', 'HTTP port', int)
  .option('--media-root <dir>', 'folder HLS is written under')
  .option('--data-dir <dir>', 'folder of the events database and snapshots')
  .option('--workers <n>', 'inference worker threads (0 = cores)', int)
  .option('--publish-secret <secret>', 'require ?token=<secret> on publish (shown by ps: prefer LIVEMATTE_AUTH_PUBLISH_SECRET or --publish-secret-file)')
  .option('--publish-secret-file <file>', 'read the publish secret from a file (its first line)')
  .option('--play-secret <secret>', 'require signed URLs to play outputs (shown by ps: prefer LIVEMATTE_PLAY_SECRET or --play-secret-file)')
  .option('--play-secret-file <file>', 'read the play secret from a file (its first line)')
  .addOption(new Option('--raw-play <mode>', 'who may play raw inputs over RTMP').choices(RAW_PLAY_MODES))
  .option('--max-streams <n>', 'publishers processed at once, more are refused (0 = no limit)', int)
  .option('--log-level <level>', 'fatal | error | warn | info | debug | trace | silent');
// Plugins bring their own flags, each setting one option's server default (`plugins.<name>.<option>`).
const pluginFlags = Object.values(FRAME_PLUGINS).flatMap((def) => (def.cliFlags ?? []).map((flag) => {
  const option = new Option(flag.flags, flag.description);
  program.addOption(option);
  return { plugin: def.name, option: flag.option, attribute: option.attributeName() };
}));
program.parse();

const o = program.opts<Record<string, string | number | undefined>>();
const cli = JSON.parse(JSON.stringify({
  bind: o.bind,
  rtmp: { port: o.rtmpPort },
  http: { port: o.httpPort },
  mediaRoot: o.mediaRoot,
  dataDir: o.dataDir,
  plugins: Object.fromEntries(Object.keys(FRAME_PLUGINS).map((name) => [name, Object.fromEntries(
    pluginFlags.filter((f) => f.plugin === name).map((f) => [f.option, o[f.attribute]]))])),
  pipeline: { maxStreams: o.maxStreams },
  inference: { workers: o.workers },
  auth: { publishSecret: o.publishSecret, playSecret: o.playSecret, rawPlay: o.rawPlay },
  log: { level: o.logLevel },
}));

try {
  if (o.publishSecretFile !== undefined) cli.auth = { ...cli.auth, publishSecret: readSecretFile('--publish-secret-file', String(o.publishSecretFile)) };
  if (o.playSecretFile !== undefined) cli.auth = { ...cli.auth, playSecret: readSecretFile('--play-secret-file', String(o.playSecretFile)) };
  const config = resolveConfig({ file: o.config ? loadConfigFile(String(o.config)) : {}, env: configFromEnv(process.env), cli });
  const log = createLogger(config.log.level);
  if (o.publishSecret !== undefined) {
    log.warn({}, 'the publish secret was given with --publish-secret, where every local user can read it (ps); set LIVEMATTE_AUTH_PUBLISH_SECRET or use --publish-secret-file instead');
  }
  if (o.playSecret !== undefined) {
    log.warn({}, 'the play secret was given with --play-secret, where every local user can read it (ps); set LIVEMATTE_PLAY_SECRET or use --play-secret-file instead');
  }
  const server = await start(config, log);
  // SIGTERM on a cluster node drains first (its streams move to the other nodes, then it stops);
  // SIGINT, a second signal, or SIGTERM to a single server stop at once.
  let phase: 'running' | 'draining' | 'closing' = 'running';
  const closeNow = () => {
    if (phase === 'closing') return;
    phase = 'closing';
    const force = setTimeout(() => process.exit(1), 8000);
    force.unref();
    server.close().then(() => process.exit(0), (err) => {
      server.log.error({ err: (err as Error).message }, 'shutdown failed');
      process.exit(1);
    });
  };
  const shutdown = (signal: string) => {
    if (phase === 'closing') return;
    if (signal === 'SIGTERM' && phase === 'running' && server.drain) {
      phase = 'draining';
      server.log.info({ signal }, 'shutting down: draining first (a second signal stops at once)');
      const force = setTimeout(() => process.exit(1), config.cluster.drainTimeoutMs + 8000);
      force.unref();
      void server.drain().then(closeNow);
      return;
    }
    server.log.info({ signal }, 'shutting down');
    closeNow();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
} catch (err) {
  const e = err as Error & { code?: string };
  process.stderr.write(`live-matte: ${e.code ? `${e.code}: ` : ''}${e.message}\n`);
  process.exit(1);
}
