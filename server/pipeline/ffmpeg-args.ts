/**
 * The one module that builds ffmpeg command lines (through fluent-ffmpeg's builder), so that the
 * archived fluent-ffmpeg can be replaced in one place.
 */
import ffmpeg from 'fluent-ffmpeg';

type Command = ReturnType<typeof ffmpeg>;

function argsOf(command: Command): string[] {
  // fluent-ffmpeg only exposes its argument list through this method; we spawn ffmpeg ourselves
  // because we need extra pipes (fd 3 and up) that its runner cannot open.
  return (command as unknown as { _getArguments(): string[] })._getArguments();
}

const COMMON = ['-hide_banner', '-nostats', '-loglevel', 'warning', '-nostdin'];

/** DecoderArgsInput describes the decoder: FLV (video tags) on stdin, frames out. */
export interface DecoderArgsInput {
  /** Fixed output size (aspect ratio kept, padded black); default: the input's, cropped to even. */
  outputSize?: { width: number; height: number };
  /** Decoding (frame) threads, 0 = ffmpeg's automatic count; default 0. */
  threads?: number;
}

/**
 * buildDecoderArgs: FLV on stdin -> constant-frame-rate I420 frames as YUV4MPEG2 on stdout (fd 1;
 * the header carries width, height and frame rate). Models' small inputs are made from these frames
 * in the worker threads (plugins/frame-tensor.ts), not by a second ffmpeg output.
 */
export function buildDecoderArgs(input: DecoderArgsInput = {}): string[] {
  const command = ffmpeg().input('pipe:0').inputFormat('flv')
    // H.264 frame threads: each thread beyond the first holds back one frame (ffmpeg's automatic
    // count on 2 cores is 3, i.e. 67 ms at 30 fps); a single thread loses the CPU to everything
    // else when streams outnumber cores and falls behind first (see decoder.threads).
    .inputOptions(['-threads', String(input.threads ?? 0), '-probesize', '65536', '-analyzeduration', '500000']);
  const size = input.outputSize;
  const fit = size
    ? `scale=${size.width}:${size.height}:force_original_aspect_ratio=decrease,pad=${size.width}:${size.height}:(ow-iw)/2:(oh-ih)/2,setsar=1`
    : 'crop=trunc(iw/2)*2:trunc(ih/2)*2';
  command.output('pipe:1').outputOptions(['-vf', `${fit},format=yuv420p`, '-fps_mode', 'cfr', '-f', 'yuv4mpegpipe']);
  return [...COMMON, ...argsOf(command)];
}

/**
 * EncoderArgsInput describes one processed stream's encode and outputs. The frame size and rate
 * come in the YUV4MPEG2 header on stdin, so the encoder can start before the first frame is decoded.
 */
export interface EncoderArgsInput {
  /** True when audio (FLV, audio tags only, timestamps rebased to the first video frame) comes on fd 3. */
  hasAudio: boolean;
  /** RTMP URL to publish the processed stream to, or '' for none. */
  rtmpUrl: string;
  /** Absolute path of the HLS playlist (its folder must exist), or '' for none. */
  hlsPlaylistPath: string;
  segmentDurationMs: number;
  playlistLength: number;
  preset: string;
  crf: number;
  maxBitrateKbps: number;
  keyframeIntervalMs: number;
  /** libx264 threads, 0 = auto. */
  threads: number;
  /** Deblocking filter on at x264's default strength (ultrafast turns it off by itself), or off. */
  deblock: boolean;
  /** True to continue an existing playlist after an `#EXT-X-DISCONTINUITY` (restart, reconnect). */
  continuePlaylist: boolean;
}

function teeEscape(value: string): string {
  return value.replace(/([\\:|[\]])/g, '\\$1');
}

/**
 * x264DeblockParam is the `-x264-params` entry for `encoder.deblock`: the loop filter at x264's
 * default strength (which ultrafast alone turns off), or off for every preset.
 */
export function x264DeblockParam(deblock: boolean): string {
  return deblock ? 'deblock=0,0' : 'no-deblock=1';
}

/** X264Settings are the `encoder.*` settings the video encode is made of. */
export type X264Settings = Pick<EncoderArgsInput, 'preset' | 'crf' | 'maxBitrateKbps' | 'keyframeIntervalMs' | 'threads' | 'deblock'>;

/**
 * x264VideoArgs are the output options of the server's video encode (libx264, zerolatency, CRF with
 * an optional bitrate cap, keyframes forced by time): the one place they are made, for the encoder
 * and for the bench's like-for-like bare transcode.
 */
export function x264VideoArgs(input: X264Settings): string[] {
  // x264's own keyframe limit is lifted: keyframes come only from the time expression.
  const video = ['-c:v', 'libx264', '-preset', input.preset, '-tune', 'zerolatency',
    '-crf', String(input.crf), '-force_key_frames', `expr:gte(t,n_forced*${input.keyframeIntervalMs / 1000})`,
    '-x264-params', `keyint=infinite:${x264DeblockParam(input.deblock)}`, '-sc_threshold', '0',
    '-pix_fmt', 'yuv420p', '-threads', String(input.threads)];
  if (input.maxBitrateKbps > 0) {
    video.push('-maxrate', `${input.maxBitrateKbps}k`, '-bufsize', `${input.maxBitrateKbps * 2}k`);
  }
  return video;
}

/**
 * buildEncoderArgs: YUV4MPEG2 I420 frames on stdin (+ FLV audio on fd 3) -> one libx264 encode
 * (zerolatency, a keyframe every `keyframeIntervalMs` of stream time, forced by time so that no
 * frame rate is needed up front) -> the tee muxer feeding RTMP (FLV) and HLS (rolling window, old
 * segments deleted, appended to on reconnect with a discontinuity). The header carries no colour
 * tags, so the output is untagged BT.601 limited range like the frames the plugins produce.
 */
export function buildEncoderArgs(input: EncoderArgsInput): string[] {
  const command = ffmpeg().input('pipe:0').inputFormat('yuv4mpegpipe');
  if (input.hasAudio) {
    command.input('pipe:3').inputFormat('flv').inputOptions(['-probesize', '32768', '-analyzeduration', '0']);
  }
  const video = ['-map', '0:v', ...x264VideoArgs(input)];
  const audio = input.hasAudio ? ['-map', '1:a', '-c:a', 'copy'] : [];
  const outputs: string[] = [];
  if (input.rtmpUrl) outputs.push(`[f=flv:onfail=ignore]${teeEscape(input.rtmpUrl)}`);
  if (input.hlsPlaylistPath) {
    const dir = input.hlsPlaylistPath.replace(/\/[^/]*$/, '');
    const hls = ['f=hls', `hls_time=${input.segmentDurationMs / 1000}`, `hls_list_size=${input.playlistLength}`,
      `hls_flags=delete_segments+independent_segments+program_date_time${input.continuePlaylist ? '+append_list+discont_start' : ''}`,
      `hls_delete_threshold=2`, `hls_segment_filename=${teeEscape(`${dir}/segment-%d.ts`)}`];
    outputs.push(`[${hls.join(':')}]${teeEscape(input.hlsPlaylistPath)}`);
  }
  command.output(outputs.join('|')).outputOptions([...video, ...audio, '-copyts', '-flags', '+global_header', '-f', 'tee']);
  return [...COMMON, ...argsOf(command)];
}

/**
 * buildRelayArgs: FLV on stdin (a processed output, tapped in-process) copied to an RTMP server,
 * no decode (a cluster node's output to the origin). `-rw_timeout` (µs) ends a relay whose
 * destination stalls, so its supervisor starts it again. `hasAudio` says whether the output has
 * an audio track: the probe, which holds the relay's first packet back, is kept to what it needs.
 */
export function buildRelayArgs(destinationUrl: string, stallTimeoutMs = 5000, hasAudio = true): string[] {
  // node-media-server's FLV header announces audio and video whatever the stream has, so ffmpeg
  // reads until the probe limit for an audio stream that may never come (5 MB by default). With
  // both tracks it stops once each has its codec parameters (-fpsprobesize 0: no frames counted
  // for a frame rate, which a copy does not need); a video-only output is probed for 0.1 s of
  // stream instead of 0.5 s: on a new stream that is its first wall-clock wait at the origin.
  const command = ffmpeg().input('pipe:0').inputFormat('flv')
    .inputOptions(['-probesize', '65536', '-analyzeduration', hasAudio ? '500000' : '100000', '-fpsprobesize', '0'])
    .output(destinationUrl).outputOptions(['-map', '0:v', '-map', '0:a?', '-c', 'copy', '-f', 'flv', '-rw_timeout', String(stallTimeoutMs * 1000)]);
  return [...COMMON, ...argsOf(command)];
}

/** RtpIngestArgsInput describes a WebRTC session's repackager: RTP on loopback (SDP on stdin) -> FLV on stdout. */
export interface RtpIngestArgsInput {
  /** Video as it arrives: H.264 is copied; VP8 is encoded to H.264 with the server's `encoder.*` settings (FLV and the pipeline take H.264 only). */
  videoCodec: 'H264' | 'VP8';
  /** The H.264 encode of VP8 video (unused for H.264). */
  x264: X264Settings;
  /** True when the SDP has an audio (Opus) m-section: transcoded to AAC for FLV. */
  hasAudio: boolean;
  /** AAC bitrate, kbit/s. */
  audioBitrateKbps: number;
}

/**
 * buildRtpIngestArgs: an SDP on stdin naming loopback RTP ports -> FLV on stdout (H.264 copied or
 * made from VP8, Opus to AAC), each packet written as soon as it is muxed. A VP8 encode keeps each
 * frame's own timestamp (`-vsync passthrough`, the spelling every ffmpeg takes, the 2018 static
 * fallback included; 5.1 also calls it `-fps_mode`): no frame is duplicated or dropped here, the
 * pipeline's decoder makes the rate constant as it does for every publisher. The RTP demuxer's
 * reordering wait is kept short (loopback loses nothing; werift already retransmits what the
 * network lost) so that it adds no latency.
 */
export function buildRtpIngestArgs(input: RtpIngestArgsInput): string[] {
  const command = ffmpeg().input('pipe:0').inputFormat('sdp')
    .inputOptions(['-protocol_whitelist', 'pipe,udp,rtp', '-reorder_queue_size', '64', '-max_delay', '100000',
      '-analyzeduration', '3000000', '-probesize', '1000000', '-fflags', '+genpts']);
  const audio = input.hasAudio ? ['-map', '0:a:0', '-c:a', 'aac', '-b:a', `${input.audioBitrateKbps}k`, '-ac', '2'] : [];
  const video = input.videoCodec === 'H264' ? ['-c:v', 'copy'] : [...x264VideoArgs(input.x264), '-vsync', 'passthrough'];
  command.output('pipe:1').outputOptions(['-map', '0:v:0', ...video, ...audio,
    '-flush_packets', '1', '-flvflags', 'no_duration_filesize', '-f', 'flv']);
  return [...COMMON, ...argsOf(command)];
}

/** RtpFeedArgsInput describes the WebRTC playback feed of one processed stream: its FLV on stdin -> RTP on loopback. */
export interface RtpFeedArgsInput {
  /** Loopback UDP port the H.264 RTP goes to. */
  videoPort: number;
  /** Loopback UDP port the Opus RTP goes to, or 0 for no audio. */
  audioPort: number;
  /** Opus bitrate, kbit/s. */
  audioBitrateKbps: number;
  /** RTP payload size, bytes (below the path MTU once SRTP and ICE are added). */
  packetBytes: number;
}

/**
 * buildRtpFeedArgs: a processed stream's FLV on stdin -> its H.264 copied (Annex B, so that the
 * SPS and PPS go before every keyframe, as a browser joining mid-stream needs) as RTP, and its
 * audio as Opus RTP (48 kHz stereo, 20 ms frames): one encode of audio per stream, none of video.
 */
export function buildRtpFeedArgs(input: RtpFeedArgsInput): string[] {
  const command = ffmpeg().input('pipe:0').inputFormat('flv')
    .inputOptions(['-probesize', '65536', '-analyzeduration', '0', '-fflags', 'nobuffer']);
  command.output(`rtp://127.0.0.1:${input.videoPort}?pkt_size=${input.packetBytes}`)
    .outputOptions(['-map', '0:v:0', '-c:v', 'copy', '-bsf:v', 'h264_mp4toannexb', '-payload_type', '96', '-f', 'rtp']);
  if (input.audioPort > 0) {
    command.output(`rtp://127.0.0.1:${input.audioPort}?pkt_size=${input.packetBytes}`)
      .outputOptions(['-map', '0:a:0', '-c:a', 'libopus', '-b:a', `${input.audioBitrateKbps}k`, '-ar', '48000', '-ac', '2',
        '-application', 'lowdelay', '-frame_duration', '20', '-payload_type', '111', '-f', 'rtp']);
  }
  return [...COMMON, ...argsOf(command)];
}
