/**
 * The contract between where a published stream comes from and the pipeline that processes it.
 *
 * The pipeline reads FLV: its decoder demuxes FLV tags (video to the decoder ffmpeg, audio copied
 * to the encoder), so a source of any other kind (a WebRTC/WHIP session, an SRT or file input)
 * must repackage its media as the FLV byte stream an RTMP publisher's tap gives:
 * - an FLV header, then tags (script, video, audio), in decoding order, each with its decoding
 *   timestamp in ms on the publisher's own clock (and, for video, the composition time offset);
 * - video H.264 only (FLV codec id 7): the AVC sequence header (avcC) before the first frame, and,
 *   at subscribe time, the current GOP from its keyframe, so a decoder started late (a restart)
 *   can decode at once and place itself on the timeline by that keyframe's timestamp;
 * - audio AAC only, as the encoder copies it into the outputs: the AAC sequence header
 *   (AudioSpecificConfig) before the first frame. A WebRTC source's Opus must be transcoded to AAC;
 * - new sequence headers when the codec parameters change (the decoder is replaced then).
 */

/** StreamSource is where one published stream's FLV comes from. */
export interface StreamSource {
  /** tap subscribes to the stream's FLV bytes (codec headers and the current GOP first); returns unsubscribe. */
  tap(onBytes: (chunk: Buffer) => void): () => void;
  /** audioDeclared tells whether the publisher's metadata declares audio. */
  audioDeclared(): boolean;
}
