/**
 * The WebRTC side of the server, built from `webrtc.*`: the WHIP ingest, the WHEP playback and their routes. Its
 * ffmpeg is checked (and its settings validated) before anything listens.
 */
import type { FastifyInstance } from 'fastify';
import type { PeerConfig } from 'werift';
import type { ServerConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import { MediaServerError } from '../errors.ts';
import type { NmsIngest } from '../ingest/nms-adapter.ts';
import type { StreamRegistry } from '../ingest/stream-registry.ts';
import type { PluginCatalog } from '../pipeline/plugin-catalog.ts';
import { resolveWebrtcFfmpegPath } from '../pipeline/ffmpeg-path.ts';
import { WhipIngest } from './whip-ingest.ts';
import { registerWhipRoutes } from './whip-routes.ts';
import { WhepEgress } from './whep-egress.ts';
import { registerWhepRoutes } from './whep-routes.ts';
import type { PlayPolicy } from '../security/play-policy.ts';

/** WebrtcServer is the WHIP ingest and the WHEP playback with their routes. */
export interface WebrtcServer {
  whip: WhipIngest;
  whep: WhepEgress;
  /** routes adds the WHIP routes to the HTTP app. */
  routes(app: FastifyInstance): Promise<void>;
  /** close ends every WebRTC session. */
  close(): Promise<void>;
}

/**
 * peerConfig turns `webrtc.*` into werift's settings.
 * @throws MediaServerError `ERR_CONFIG_INVALID` for a port range werift can not use.
 */
export function peerConfig(webrtc: ServerConfig['webrtc']): Partial<PeerConfig> {
  const { udpPortMin: min, udpPortMax: max } = webrtc;
  if ((min !== 0 || max !== 0) && !(min > 0 && max > min)) {
    throw new MediaServerError('ERR_CONFIG_INVALID', 'config', `invalid configuration: 'webrtc.udpPortMax' (${max}) must be above 'webrtc.udpPortMin' (${min}), both set or both 0`, { fatal: true });
  }
  const bad = webrtc.iceServers.find((url) => !/^stuns?:[^\s]+$/.test(url));
  if (bad !== undefined) throw new MediaServerError('ERR_CONFIG_INVALID', 'config', `invalid configuration: 'webrtc.iceServers' entry '${bad}' is not a stun: URL`, { fatal: true });
  return {
    icePortRange: min > 0 ? [min, max] : undefined,
    iceAdditionalHostAddresses: webrtc.hostAddresses.length > 0 ? webrtc.hostAddresses : undefined,
    iceServers: webrtc.iceServers.map((urls) => ({ urls })),
  };
}

/**
 * createWebrtcServer makes the WebRTC side, or undefined when `webrtc.enabled` is false or no
 * ffmpeg on the search path can repackage WebRTC media (a warning says so).
 * @throws MediaServerError `ERR_FFMPEG_MISSING` (a `webrtc.ffmpegPath` that can not), `ERR_CONFIG_INVALID`.
 */
export function createWebrtcServer(config: ServerConfig, registry: StreamRegistry, rtmp: NmsIngest, catalog: PluginCatalog, plays: PlayPolicy, log: Logger): WebrtcServer | undefined {
  if (!config.webrtc.enabled) return undefined;
  const peer = peerConfig(config.webrtc);
  let ffmpegPath: string;
  try {
    ffmpegPath = resolveWebrtcFfmpegPath(config.webrtc.ffmpegPath);
  } catch (err) {
    // A configured ffmpeg that can not do it is a configuration error; none found is WebRTC off, said once.
    if (config.webrtc.ffmpegPath) throw err;
    log.warn({ err: (err as Error).message }, 'WebRTC (WHIP/WHEP) is off: no ffmpeg able to repackage WebRTC media was found');
    return undefined;
  }
  const whip = new WhipIngest({
    publishSecret: config.auth.publishSecret, maxStreams: config.pipeline.maxStreams, peer, ffmpegPath,
    mediaTimeoutMs: config.webrtc.mediaTimeoutMs, x264: config.encoder,
  }, registry, rtmp, catalog, log.child({ component: 'whip' }));
  rtmp.otherPublishers = whip.sessions;
  const whep = new WhepEgress(registry, rtmp, plays, peer, ffmpegPath, log.child({ component: 'whep' }));
  return {
    whip, whep,
    // A scope of their own: its body parsers (SDP, any other type read as text to answer 415) stay in it.
    routes: async (app) => {
      await app.register(async (scope) => {
        registerWhipRoutes(scope, whip);
        registerWhepRoutes(scope, whep);
        // The publish page (player/publish.html) under a short path.
        scope.get('/publish', async (req, reply) => {
          const query = req.url.indexOf('?');
          return reply.redirect(`/publish.html${query >= 0 ? req.url.slice(query) : ''}`);
        });
      });
    },
    close: async () => {
      await whep.close();
      await whip.close();
    },
  };
}
