/**
 * The audio of one stream: it never goes through the decoder. Its FLV tags go straight to the
 * encoder's audio input (copied) with timestamps rebased to the output's time origin, so audio and
 * video stay in sync across drops and restarts. Audio that arrives before that origin is known is
 * held back; audio that starts late, or stops while the video goes on, has the encoder started
 * again with or without an audio input.
 */
import { FLV_AUDIO, flvTagBytes, isSequenceHeader, type FlvTag } from './flv-demux.ts';
import type { DecoderSession } from './decoder-session.ts';
import type { EncoderSupervisor } from './encoder-supervisor.ts';
import type { PipelineContext, StreamFormat } from './pipeline-context.ts';

const MAX_PENDING_AUDIO_TAGS = 2000;
/**
 * How far (ms, publisher clock) the publisher's video may run ahead of its newest audio before the
 * stream's audio counts as stopped and its encoder is started again without an audio input.
 */
const AUDIO_GAP_MS = 2000;

/** AudioTiming feeds one stream's audio to its encoder on the output's timeline. */
export class AudioTiming {
  private audioSequenceHeader?: Buffer;
  /** Decoding time (ms, publisher clock) of the publisher's newest audio tag; undefined before any. */
  private newestAudioDtsMs?: number;
  private pendingAudio: FlvTag[] = [];

  constructor(
    private readonly ctx: PipelineContext,
    private readonly encoders: EncoderSupervisor,
    /** Whether the source's metadata declares audio. */
    private readonly audioDeclared: () => boolean,
  ) {}

  private get format(): StreamFormat | undefined {
    return this.ctx.format;
  }

  /** onAudio takes one of the publisher's audio tags, as it arrives. */
  onAudio(tag: FlvTag): void {
    this.newestAudioDtsMs = tag.dts;
    if (this.format && !this.format.hasAudio && !this.ctx.stopping) this.onLateAudio();
    if (isSequenceHeader(tag)) {
      this.audioSequenceHeader = Buffer.from(tag.data);
      this.encoders.sendAudioConfig();
      return;
    }
    if (!this.format) {
      this.pendingAudio.push({ ...tag, data: Buffer.from(tag.data) });
      if (this.pendingAudio.length > MAX_PENDING_AUDIO_TAGS) this.pendingAudio.shift();
    } else if (this.format.hasAudio && this.encoders.current) {
      this.writeAudio(tag);
    }
  }

  /** audioSeen tells whether the publisher has declared or sent audio so far. */
  audioSeen(): boolean {
    return this.pendingAudio.length > 0 || this.audioSequenceHeader !== undefined || this.audioDeclared();
  }

  /** sequenceHeader is the publisher's AAC sequence header, once it has been sent. */
  get sequenceHeader(): Buffer | undefined {
    return this.audioSequenceHeader;
  }

  /**
   * flushPending writes the audio held back until the output's time origin was known, when the
   * encoder has an audio input, and drops it (called once the encoder's header went in).
   */
  flushPending(): void {
    if (this.encoders.hasAudio) for (const tag of this.pendingAudio) this.writeAudio(tag);
    this.pendingAudio = [];
  }

  /** onVideoFrame runs after each decoded video frame: an encoder with an audio input needs audio that goes on. */
  onVideoFrame(decoder: DecoderSession): void {
    if (this.encoders.hasAudio && this.format!.hasAudio) this.checkAudioGoesOn(decoder);
  }

  /**
   * outputPtsOriginMs is the publisher presentation time (ms, the publisher's clock) that the
   * current encoder's output timestamp 0 stands for: the output frame with pts t ms carries the
   * publisher's frame at `outputPtsOriginMs + t` (or repeats an earlier one when that frame was
   * dropped). Undefined until the encoder starts; it moves when the encoder restarts or skips a
   * frame, and audio follows it (writeAudio).
   */
  get outputPtsOriginMs(): number | undefined {
    if (!this.format || !this.encoders.current) return undefined;
    return this.ctx.epochPtsMs + ((this.encoders.startIndex + this.encoders.skipped) * 1000) / this.format.fps;
  }

  /**
   * onLateAudio takes audio that first turns up after the stream format was settled without it (a
   * publisher whose audio starts later than its video): the format gains audio and the encoder,
   * which has no audio input, is started again with one. Its output continues after a
   * discontinuity, as after an encoder restart (counted in `restarts`; the output time origin
   * moves). Audio that checkAudioGoesOn found stopped comes back the same way.
   */
  private onLateAudio(): void {
    this.format!.hasAudio = true;
    this.ctx.log.info({}, 'audio turned up after the stream format was settled; starting the encoder again with an audio input');
    if (this.encoders.replace()) this.ctx.stats.restarts += 1;
  }

  /**
   * checkAudioGoesOn takes a publisher whose audio stopped while its video goes on: its video ran
   * AUDIO_GAP_MS past its newest audio (or past its first video frame, for audio its metadata
   * declared and never sent), by the publisher's own timestamps, so a stall of this process cannot
   * fake it. ffmpeg muxes its inputs in timestamp order and waits for the audio input before it
   * muxes video past the last audio, so an encoder with an audio input that gets none freezes its
   * output. The format loses its audio and the encoder is started again without one (counted in
   * `restarts`; the output continues after a discontinuity). Audio that comes back is taken again
   * by onLateAudio.
   */
  private checkAudioGoesOn(decoder: DecoderSession): void {
    const video = decoder.newestVideoDtsMs;
    const audio = this.newestAudioDtsMs ?? this.ctx.epochPtsMs;
    if (video === undefined || video - audio <= AUDIO_GAP_MS) return;
    this.format!.hasAudio = false;
    this.ctx.log.warn({ videoAheadMs: video - audio }, 'no audio from the publisher while video goes on; starting the encoder again without audio');
    if (this.encoders.replace()) this.ctx.stats.restarts += 1;
  }

  private writeAudio(tag: FlvTag): void {
    const origin = this.outputPtsOriginMs;
    if (origin === undefined) return;
    const ts = Math.round(tag.dts - origin);
    if (ts >= 0) this.encoders.current!.pipe(3).write(flvTagBytes(FLV_AUDIO, ts, tag.data));
  }
}
