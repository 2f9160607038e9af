/**
 * The server's configuration schema: every key with its default, unit and allowed values.
 *
 * This is the one place defaults live. `config.example.yaml` documents the same keys and a test
 * checks that the two never drift.
 */
import type { SchemaObject } from 'ajv';
import { FRAME_PLUGINS } from '../plugins/index.ts';

/**
 * pluginConfigSchema is `plugins.<name>` for every plugin: its own options schema (the single source
 * of its defaults; internal options left out) beside its server-level settings.
 */
function pluginConfigSchema(): SchemaObject {
  const properties = Object.fromEntries(Object.values(FRAME_PLUGINS).map((def) => {
    const options = { ...(def.optionsSchema.properties as Record<string, unknown>) };
    for (const key of def.internalOptions ?? []) delete options[key];
    const settings = (def.settingsSchema?.properties ?? {}) as Record<string, unknown>;
    return [def.name, {
      type: 'object', additionalProperties: false, required: [], default: {}, description: def.description,
      properties: { ...options, ...settings },
    }];
  }));
  return { type: 'object', additionalProperties: false, required: [], default: {}, properties };
}

/**
 * RAW_PLAY_MODES are who may play a raw input `live/<key>` over RTMP: loopback clients (and, with
 * `auth.playSecret`, anyone with a valid signature or token), only holders of a signature or token,
 * anyone, or nobody.
 */
export const RAW_PLAY_MODES = ['loopback', 'token', 'open', 'off'] as const;
export type RawPlayMode = typeof RAW_PLAY_MODES[number];

/** ServerConfig is the validated configuration, all defaults applied. */
export interface ServerConfig {
  bind: string;
  rtmp: { port: number; idlePublisherTimeoutMs: number };
  http: { port: number; corsOrigin: string; rateLimitPerSecond: number };
  mediaRoot: string;
  dataDir: string;
  nodeId: string;
  cluster: { enabled: boolean; redisUrl: string; leaseTtlMs: number; drainTimeoutMs: number; httpUrl: string; originRtmpUrl: string };
  ffmpegPath: string;
  modelsDir: string;
  hls: { segmentDurationMs: number; playlistLength: number; retentionMs: number; minFreeBytes: number };
  decoder: { threads: number };
  encoder: { preset: string; crf: number; maxBitrateKbps: number; keyframeIntervalMs: number; threads: number; deblock: boolean };
  pipeline: { maxStreams: number; maxQueueFrames: number; startTimeoutMs: number; plugins: string[] };
  inference: { workers: number; intraOpThreads: number; maxModelIntervalFrames: number };
  /** Each plugin's option defaults and settings, by plugin name (each plugin's own schema). */
  plugins: Record<string, Record<string, unknown>>;
  auth: { publishSecret: string; adminToken: string; rawPlay: RawPlayMode; playSecret: string };
  events: { enabled: boolean; store: 'sqlite' | 'postgres'; postgresUrl: string; retentionDays: number; maxBytes: number; trackLostMs: number; flushIntervalMs: number; maxQueue: number };
  snapshots: { source: 'output' | 'input'; everySeconds: number; jpegQuality: number };
  webrtc: { enabled: boolean; udpPortMin: number; udpPortMax: number; hostAddresses: string[]; iceServers: string[]; mediaTimeoutMs: number; ffmpegPath: string };
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
}

const port = (def: number, description: string) =>
  ({ type: 'integer', minimum: 0, maximum: 65535, default: def, description }) as const;

/** configSchema is the JSON schema (ajv, useDefaults) of {@link ServerConfig}. */
export const configSchema: SchemaObject = {
  type: 'object',
  additionalProperties: false,
  required: [],
  properties: {
    bind: { type: 'string', default: '0.0.0.0', description: 'Address the RTMP and HTTP listeners bind to.' },
    rtmp: {
      type: 'object', additionalProperties: false, required: [], default: {},
      properties: {
        port: port(1935, 'RTMP ingest and playback port (0 = pick a free port).'),
        idlePublisherTimeoutMs: { type: 'integer', minimum: 0, default: 10000, description: 'A publisher that sends no audio or video for this long (ms) is disconnected, its playlist ended and its stream key freed (like nginx-rtmp\'s drop_idle_publisher). 0 = never.' },
      },
    },
    http: {
      type: 'object', additionalProperties: false, required: [], default: {},
      properties: {
        port: port(8000, 'HTTP port: player, API, HLS, metrics (0 = pick a free port).'),
        corsOrigin: { type: 'string', default: '*', description: 'Access-Control-Allow-Origin for HLS, the API and WHIP/WHEP: * or a comma-separated list of origins (e.g. https://a.example,https://b.example). WHIP/WHEP pages of these origins may also POST offers and PATCH/DELETE sessions; the control routes answer no cross-origin request whatever this says.' },
        rateLimitPerSecond: { type: 'integer', minimum: 0, default: 50, description: 'API requests (/api/*) one client may make per second; more are answered 429 with retry-after (0 = no limit). HLS, the player and /healthz are not limited. Behind a proxy every client counts as the proxy.' },
      },
    },
    mediaRoot: { type: 'string', default: './media', description: 'Folder HLS playlists and segments are written under.' },
    dataDir: { type: 'string', default: './data', description: 'Folder for the events database (events.sqlite), the snapshots (snapshots/<stream key>/<UTC date>/) and node-media-server\'s small state store.' },
    nodeId: { type: 'string', pattern: '^[A-Za-z0-9_.-]{0,100}$', default: '', description: 'This node\'s name in a cluster and in a shared event store (each event records it; a node that starts again closes only its own open events). Empty = the host name.' },
    cluster: {
      type: 'object', additionalProperties: false, required: [], default: {},
      properties: {
        enabled: { type: 'boolean', default: false, description: 'Run as one node of a cluster: stream keys are leased in Redis (cluster.redisUrl), so a key live on another node is refused here (key_elsewhere); GET /api/cluster lists every node and its streams, and a call about a stream another node holds (its API, plugins, snapshot, WHIP/WHEP session) is forwarded to that node (docs/scaling.md).' },
        redisUrl: { type: 'string', default: '', description: 'Redis URL of the cluster registry, e.g. redis://10.0.0.2:6379/0 (LIVEMATTE_CLUSTER_REDIS_URL).' },
        leaseTtlMs: { type: 'integer', minimum: 300, maximum: 60000, default: 5000, description: 'A stream key\'s lease expires this long after its node last renewed it (renewed every third): how soon a dead node\'s keys can be taken by another node.' },
        drainTimeoutMs: { type: 'integer', minimum: 0, maximum: 600000, default: 5000, description: 'SIGTERM (or POST /api/cluster/drain) drains a cluster node: it takes no new publishers (RTMP port closed, WHIP refused as draining, /healthz 503), releases its leases and disconnects its publishers, which reconnect through the balancer to another node that takes their keys at once. The process then exits once its streams have ended, or after this many ms. Keep it, plus up to 8 s for the stop that follows, under the grace time of whatever sends the SIGTERM (docker-compose.cluster.yml: stop_grace_period 15 s). Not used without cluster.enabled: SIGTERM then stops at once.' },
        httpUrl: { type: 'string', default: '', description: 'The URL other nodes reach this node\'s HTTP API at, e.g. http://10.0.0.5:8000 (shown in the cluster view; empty = this node\'s bind address, or its host name when bound to every interface, and the HTTP port).' },
        originRtmpUrl: { type: 'string', default: '', description: 'RTMP application of the cluster\'s origin (nginx-rtmp), e.g. rtmp://origin:1936/live: each processed output live/stream-<key> is copied there under the same name (no re-encode), and viewers play RTMP and HLS from the origin whichever node processes the stream. Empty = no origin (works without a cluster too).' },
      },
    },
    modelsDir: { type: 'string', default: '', description: 'Folder of the built ONNX models; empty = models/build (the files must match the registry hashes).' },
    ffmpegPath: { type: 'string', default: '', description: 'ffmpeg binary; empty = build/ffmpeg/ffmpeg (npm run build:ffmpeg), else ffmpeg on PATH, else the one shipped by @ffmpeg-installer/ffmpeg.' },
    hls: {
      type: 'object', additionalProperties: false, required: [], default: {},
      properties: {
        segmentDurationMs: { type: 'integer', minimum: 500, maximum: 10000, default: 2000, description: 'Target HLS segment duration in ms (also the keyframe interval).' },
        playlistLength: { type: 'integer', minimum: 2, maximum: 60, default: 6, description: 'Segments kept in the rolling playlist; older ones are deleted.' },
        retentionMs: { type: 'integer', minimum: 0, default: 60000, description: 'How long a finished stream\'s HLS folder is kept, in ms.' },
        minFreeBytes: { type: 'integer', minimum: 0, default: 67108864, description: 'Free bytes on the media root below which it counts as low: logged once, /healthz degraded, livematte_media_root_low 1 (64 MiB; 0 = never). Segments cut short by a full disk are found whatever this is, and served as gaps.' },
      },
    },
    decoder: {
      type: 'object', additionalProperties: false, required: [], default: {},
      properties: {
        threads: { type: 'integer', minimum: 0, maximum: 16, default: 2, description: 'H.264 decoding threads per stream (frame threads; each beyond the first holds back one frame, 33 ms at 30 fps). 2 (default) keeps up under overload (eight 640x480 streams on 2 cores: 30 fps decoded each); 1 is the lowest latency (about 30 ms less) where the machine has headroom, but a lone decoding thread falls behind first when CPU runs out; 0 = ffmpeg auto (cores + 1).' },
      },
    },
    encoder: {
      type: 'object', additionalProperties: false, required: [], default: {},
      properties: {
        preset: { type: 'string', enum: ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium'], default: 'ultrafast', description: 'libx264 preset. ultrafast (default, with `deblock`) spends about 35 % less encoder CPU than superfast for about the same PSNR and SSIM at 1.5x (camera footage) to 2.35x (a colour-background output) the bytes, which is what keeps three 720p30 streams free of dropped frames on 2 cores (docs/production.md). superfast where bandwidth costs more than cores (on 2 cores it drops frames at three streams); it spends about 35 % less CPU than veryfast for about 14 % more bytes. veryfast or slower where cores are plentiful.' },
        crf: { type: 'integer', minimum: 0, maximum: 51, default: 23, description: 'libx264 constant rate factor.' },
        maxBitrateKbps: { type: 'integer', minimum: 0, default: 4000, description: 'VBV max bitrate in kbit/s (0 = uncapped).' },
        keyframeIntervalMs: { type: 'integer', minimum: 500, maximum: 10000, default: 2000, description: 'Keyframe (GOP) interval in ms.' },
        deblock: { type: 'boolean', default: true, description: "H.264 deblocking (loop) filter at x264's default strength. Every preset has it on except ultrafast, which this turns it back on for: measured on 600 frames at CRF 23, ultrafast with it took about 35 % less encoder CPU than superfast for about the same quality (composited colour output: PSNR 51.3 vs 49.8 dB, SSIM 0.9976 vs 0.9974; camera footage: 48.5 vs 48.3 dB, 0.9943 vs 0.9952) at 2.35x and 1.49x the bytes. false turns it off for every preset." },
        threads: { type: 'integer', minimum: 0, maximum: 16, default: 1, description: 'libx264 threads per stream. 1 (default) costs the least CPU per frame, so the most streams fit; 0 = auto (sliced threads: less time per frame on an idle machine, about 20 % more CPU).' },
      },
    },
    pipeline: {
      type: 'object', additionalProperties: false, required: [], default: {},
      properties: {
        maxStreams: { type: 'integer', minimum: 0, maximum: 1000, default: 0, description: 'Publishers processed at once. One more is refused (its RTMP connection is closed, the refusal logged and counted in livematte_publishes_refused_total{reason="server_full"}), so that the streams already running keep real time; past its capacity a machine drops frames on every stream. 0 (default) = no limit. A 2-core machine carries three 720p30 colour streams (docs/production.md#sizing).' },
        maxQueueFrames: { type: 'integer', minimum: 1, maximum: 60, default: 6, description: 'Frames a stream may have waiting for the pool; beyond it frames are dropped (the last output repeats). It bounds the latency a CPU stall can add (6 frames = 200 ms at 30 fps); at 3, a 100 ms stall on a busy machine already drops frames.' },
        startTimeoutMs: { type: 'integer', minimum: 1000, default: 15000, description: 'How long a new stream may take to deliver its first decoded frame, in ms.' },
        plugins: { type: 'array', items: { type: 'string' }, default: ['background'], description: 'The default chain: frame plugins run on every stream, in order. A stream key turns others on (`?faces=blur`) or these off (`?background=off`); their options are under `plugins.<name>`.' },
      },
    },
    inference: {
      type: 'object', additionalProperties: false, required: [], default: {},
      properties: {
        workers: { type: 'integer', minimum: 0, maximum: 64, default: 0, description: 'Worker threads in the inference pool (0 = number of CPU cores).' },
        intraOpThreads: { type: 'integer', minimum: 1, maximum: 16, default: 1, description: 'onnxruntime intra-op threads per worker.' },
        maxModelIntervalFrames: { type: 'integer', minimum: 1, maximum: 30, default: 4, description: 'Under load, run the model at most every N frames per stream and reuse the last mask in between (1 = never shed).' },
      },
    },
    plugins: pluginConfigSchema(),
    auth: {
      type: 'object', additionalProperties: false, required: [], default: {},
      properties: {
        publishSecret: { type: 'string', default: '', description: 'When set, publishers must add ?token=<secret> to the stream key.' },
        adminToken: { type: 'string', default: '', description: 'When set, control routes (changing a stream\'s plugins, deleting events) need `Authorization: Bearer <token>`; read-only routes and HLS stay open. Set it through LIVEMATTE_AUTH_ADMIN_TOKEN rather than a flag, so it does not show in the process list.' },
        rawPlay: { type: 'string', enum: [...RAW_PLAY_MODES], default: 'loopback', description: 'Who may play a raw input (`rtmp://host/live/<key>`, before background replacement and face anonymisation) over RTMP: loopback = clients on 127.0.0.0/8 or ::1, and anyone with a valid signed URL or `?token=<auth.playSecret>` when a play secret is set; token = only with a valid signed URL or token (needs `auth.playSecret`); open = anyone; off = nobody. A refused player is disconnected, logged and counted in livematte_plays_refused_total. The server\'s own decoder reads the input in-process and is never refused.' },
        playSecret: { type: 'string', default: '', description: 'When set, playing a processed output (`rtmp://host/live/stream-<key>`, `/live/stream-<key>/index.m3u8` and its segments) needs a signed URL, `?expires=<unix s>&sig=<base64url HMAC-SHA256(secret, "<folder>:<expires>")>` with folder `/live/<name>/` (that one stream: `stream-<key>` for its output, `<key>` for its raw input) or `/live/` (every stream, raw inputs too), or `?token=<secret>`; unsigned HLS is answered 403. `npm run sign-url` makes the query. Set it through LIVEMATTE_PLAY_SECRET or --play-secret-file, not a flag.' },
      },
    },
    events: {
      type: 'object', additionalProperties: false, required: [], default: {},
      properties: {
        enabled: { type: 'boolean', default: true, description: 'Keep detection events (one per tracked face or person, with a snapshot) in <dataDir>/events.sqlite and serve them at /api/events.' },
        store: { type: 'string', enum: ['sqlite', 'postgres'], default: 'sqlite', description: 'Where events are kept: sqlite = <dataDir>/events.sqlite (one node); postgres = the database at events.postgresUrl (shared by the nodes of a cluster; snapshots stay in each node\'s <dataDir>).' },
        postgresUrl: { type: 'string', default: '', description: 'PostgreSQL connection URL for store postgres, e.g. postgres://livematte:<password>@db:5432/livematte. It holds a password: set it through LIVEMATTE_EVENTS_POSTGRES_URL, not in a shared file.' },
        retentionDays: { type: 'integer', minimum: 1, maximum: 3650, default: 30, description: 'Ended events (and their snapshots) that started more than this many days ago are deleted (checked hourly and at start).' },
        maxBytes: { type: 'integer', minimum: 0, default: 10737418240, description: 'Database plus snapshots are kept under this many bytes, the oldest ended events deleted first (0 = no size bound; default 10 GiB).' },
        trackLostMs: { type: 'integer', minimum: 0, maximum: 60000, default: 1000, description: 'A track absent for longer than this (ms of the stream\'s timeline) ends its event as track_lost; longer bridges short occlusions, shorter ends events sooner.' },
        flushIntervalMs: { type: 'integer', minimum: 10, maximum: 60000, default: 500, description: 'Queued event writes are written every this many ms, in one transaction.' },
        maxQueue: { type: 'integer', minimum: 10, maximum: 1000000, default: 10000, description: 'Writes queued before writes of the same event are merged (and, still full, updates dropped; starts and ends are always kept).' },
      },
    },
    snapshots: {
      type: 'object', additionalProperties: false, required: [], default: {},
      properties: {
        source: { type: 'string', enum: ['output', 'input'], default: 'output', description: 'An event\'s snapshot: output = the processed frame at its best moment (what viewers saw: an anonymised face stays anonymised on disk); input = a crop of the original frame around the object (costs a copy of every frame of streams with detections).' },
        everySeconds: { type: 'integer', minimum: 0, maximum: 86400, default: 0, description: 'Also keep one processed frame per live stream every this many seconds, in snapshots/<stream key>/<UTC date>/frame-<time>.jpg (0 = off).' },
        jpegQuality: { type: 'integer', minimum: 1, maximum: 100, default: 80, description: 'JPEG quality of snapshots.' },
      },
    },
    webrtc: {
      type: 'object', additionalProperties: false, required: [], default: {},
      properties: {
        enabled: { type: 'boolean', default: true, description: 'WebRTC publishing (WHIP, `POST /whip/live/<key>`) beside RTMP. A WebRTC publisher is the same as an RTMP one to everything downstream (stream key, `auth.publishSecret` as a bearer token, plugins, outputs, `pipeline.maxStreams`).' },
        udpPortMin: { type: 'integer', minimum: 0, maximum: 65535, default: 0, description: 'Lowest UDP port of WebRTC media (ICE); 0 with udpPortMax 0 = any free port. Each session takes one port per host address, so the range must hold at least as many ports as sessions at once times host addresses; open it (UDP, inbound) in the firewall.' },
        udpPortMax: { type: 'integer', minimum: 0, maximum: 65535, default: 0, description: 'Highest UDP port of WebRTC media; must be above udpPortMin when either is set.' },
        hostAddresses: { type: 'array', items: { type: 'string' }, default: [], description: 'Extra local addresses to offer ICE candidates on, beside every non-loopback interface (e.g. 127.0.0.1 for a browser on the same machine with no other interface).' },
        iceServers: { type: 'array', items: { type: 'string' }, default: [], description: 'STUN servers (`stun:host:port`) the server asks for its public address, for a server behind NAT; empty = host candidates only (a server with a public address needs none).' },
        mediaTimeoutMs: { type: 'integer', minimum: 500, maximum: 60000, default: 3000, description: 'A WebRTC publisher that sends no RTP for this long (ms) is ended: its session, its stream and its playlist (ended as for RTMP). A closed tab or a lost network is noticed this fast; ICE consent alone takes 30 s.' },
        ffmpegPath: { type: 'string', default: '', description: 'The ffmpeg that repackages WebRTC media (needs the sdp/rtp demuxers, the Opus decoder and the AAC encoder, which the stream ffmpeg of build/ffmpeg lacks); empty = ffmpeg on PATH, else the one shipped by @ffmpeg-installer/ffmpeg.' },
      },
    },
    log: {
      type: 'object', additionalProperties: false, required: [], default: {},
      properties: {
        level: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', description: 'Log level.' },
      },
    },
  },
};
