// mediapipe-face-oracle.ts: the original MediaPipe face detector as a test oracle. It runs the
// @mediapipe/face_detection JavaScript solution (npm 0.4.1657300184, July 2022, the last release of
// the legacy "solutions" API) in headless Chromium on SwiftShader; its wasm, graph and TFLite files
// are served from node_modules on loopback, nothing comes from the network.
//
// What the solution's graph does (FaceDetectionShortRangeGpu / FaceDetectionFullRangeGpu, compiled
// into the wasm; upstream mediapipe/modules/face_detection/face_detection.pbtxt and
// face_detection_{short,full}_range.pbtxt), checked against this build where noted:
// - ImageToTensorCalculator: the whole frame, aspect ratio kept, centred letterbox, bilinear
//   resize to 128x128 (short) or 192x192 (full), RGB 0..255 scaled to -1..1, on the GPU.
//   BORDER_ZERO pads with pixel value 0, i.e. -1 (black) in the tensor, not 0 (grey): measured,
//   a detector that reproduces the model output on unpadded 128/192 px crops to 1e-4 reproduces
//   this oracle on letterboxed 16:9 frames only with -1 padding.
// - Inference: TFLite on the CPU (wasm, float32; the solution's useCpuInference option, chosen here
//   by default) or its GPU delegate on WebGL (SwiftShader, float16, ~20x slower); the short model is
//   face_detection_short_range.tflite, the full model is face_detection_full_range_sparse.tflite
//   (the sparse variant, not face_detection_full_range.tflite).
// - SsdAnchorsCalculator: short 4 layers, strides 8,16,16,16, 896 anchors; full 1 layer, stride 4,
//   2304 anchors; fixed anchor size, offset 0.5.
// - TensorsToDetectionsCalculator: sigmoid scores clipped at +-100, boxes and 6 keypoints decoded
//   with x/y/w/h scale = tensor size, min_score_thresh 0.5 (short) or 0.6 (full), before NMS. The
//   solution's minDetectionConfidence option is not usable in this build (it aborts the graph, see
//   mediapipe-face-harness.js), so a higher minScore is applied here after NMS, and a lower one is refused.
// - NonMaxSuppressionCalculator: WEIGHTED (BlazeFace blending), IoU threshold 0.3.
// - DetectionLetterboxRemoval / projection back to the frame; results.detections are normalised
//   to the frame (boundingBox centre, width, height; 6 landmarks: right eye, left eye, nose tip,
//   mouth centre, right ear tragion, left ear tragion, as seen by the subject).
import { readFile, readdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './chromium.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

/** FACE_DETECTION_DIR is the installed @mediapipe/face_detection package whose files the oracle page loads. */
export const FACE_DETECTION_DIR = path.dirname(createRequire(import.meta.url).resolve('@mediapipe/face_detection'));

const HARNESS_FILES = ['mediapipe-face-harness.html', 'mediapipe-face-harness.js'];

const MIME_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** Raw frames are sent to the page in batches of at most this many bytes (base64 adds a third). */
const MAX_BATCH_BYTES = 16 * 1024 * 1024;

/** RawRgbFrame is one packed RGB24 frame, `rgb[(y * width + x) * 3 + c]`, width x height px. */
export interface RawRgbFrame {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/** OracleFrame is a {@link RawRgbFrame}, an encoded image (PNG, JPEG, anything sharp reads) or an image file path. */
export type OracleFrame = RawRgbFrame | Buffer | string;

/** FaceModel names MediaPipe's two face detectors: 'short' (128x128, faces within ~2 m) and 'full' (192x192, ~5 m). */
export type FaceModel = 'short' | 'full';

/** OracleFace is one MediaPipe detection in px of its frame: box top-left (x, y), size, score 0..1, 6 keypoints [x, y] px. */
export interface OracleFace {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
  keypoints: [number, number][];
}

/**
 * GRAPH_MIN_SCORE is the min_score_thresh built into each model's graph, applied before NMS
 * (mediapipe/modules/face_detection/face_detection_{short,full}_range.pbtxt).
 */
export const GRAPH_MIN_SCORE: Readonly<Record<FaceModel, number>> = { short: 0.5, full: 0.6 };

/**
 * DetectOptions picks the model (default 'short'), minScore (0..1, default {@link GRAPH_MIN_SCORE} of
 * the model; a higher one drops detections after NMS, a lower one is refused) and where TFLite runs:
 * inference 'cpu' (default: wasm, float32, ~20-50 ms a frame) or 'gpu' (WebGL on SwiftShader,
 * float16, ~0.5-1 s a frame; MediaPipe's default on desktop browsers; boxes and scores within ~1e-3 of 'cpu').
 */
export interface DetectOptions {
  model?: FaceModel;
  minScore?: number;
  inference?: 'cpu' | 'gpu';
}

/** HarnessDetection is one detection as window.faceHarness.detect() returns it (see mediapipe-face-harness.js). */
interface HarnessDetection {
  xCenter: number;
  yCenter: number;
  width: number;
  height: number;
  score: number;
  landmarks: [number, number][];
}

interface FaceHarness {
  detect(frames: string[], width: number, height: number, model: FaceModel, useCpuInference: boolean): Promise<HarnessDetection[][]>;
}

/** serveFile answers one loopback request from the two allowed folders, or returns false. */
async function serveFile(urlPath: string): Promise<{ body: Buffer; type: string } | false> {
  const match = /^\/(mediapipe|harness)\/([^/]+)$/.exec(urlPath);
  if (!match) return false;
  const [, folder, name] = match;
  const dir = folder === 'mediapipe' ? FACE_DETECTION_DIR : here;
  const allowed = folder === 'mediapipe' ? await readdir(FACE_DETECTION_DIR) : HARNESS_FILES;
  if (!allowed.includes(name)) return false;
  const body = await readFile(path.join(dir, name));
  return { body, type: MIME_TYPES[path.extname(name)] ?? 'application/octet-stream' };
}

/** startStaticServer serves /mediapipe/* and /harness/* on 127.0.0.1 at a random port. */
async function startStaticServer(): Promise<Server> {
  const server = createServer((req, res) => {
    const urlPath = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    serveFile(urlPath).then(
      (file) => {
        if (!file) {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'content-type': file.type, 'content-length': file.body.length });
        res.end(file.body);
      },
      (err: unknown) => {
        res.writeHead(500).end(String(err));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return server;
}

/** isRawFrame tells a {@link RawRgbFrame} from an encoded image or a path. */
function isRawFrame(frame: OracleFrame): frame is RawRgbFrame {
  return typeof frame === 'object' && !Buffer.isBuffer(frame) && 'rgb' in frame;
}

/** toRawFrame decodes an encoded image or image file to packed RGB24 (alpha dropped, no colour conversion). */
async function toRawFrame(frame: OracleFrame): Promise<RawRgbFrame> {
  if (isRawFrame(frame)) {
    if (frame.rgb.length !== frame.width * frame.height * 3) {
      throw new Error(`raw frame has ${frame.rgb.length} bytes, expected ${frame.width}x${frame.height}x3`);
    }
    return frame;
  }
  const { data, info } = await sharp(frame).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgb: data };
}

/** toPixels maps one normalised harness detection to {@link OracleFace} px of a width x height frame. */
function toPixels(d: HarnessDetection, width: number, height: number): OracleFace {
  return {
    x: (d.xCenter - d.width / 2) * width,
    y: (d.yCenter - d.height / 2) * height,
    width: d.width * width,
    height: d.height * height,
    score: d.score,
    keypoints: d.landmarks.map(([x, y]) => [x * width, y * height]),
  };
}

/**
 * MediaPipeFaceOracle drives the original MediaPipe face-detection JavaScript solution in headless
 * Chromium and returns its detections in px; launch it once per test file with
 * {@link MediaPipeFaceOracle.launch} and close() it in `after()`.
 */
export class MediaPipeFaceOracle {
  /** Requests the page tried to make outside the loopback server; they are aborted, never sent. */
  readonly blockedRequests: string[] = [];
  /** Uncaught errors and console errors reported by the page. */
  readonly pageErrors: string[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly server: Server,
    private readonly browser: Browser,
    private readonly page: Page,
  ) {}

  /** launch starts the loopback server and Chromium and waits (up to timeoutMs, default 30 s) for the harness page. */
  static async launch(timeoutMs = 30_000): Promise<MediaPipeFaceOracle> {
    const server = await startStaticServer();
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page = await browser.newPage();
      const oracle = new MediaPipeFaceOracle(server, browser, page);
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await page.route('**/*', async (route) => {
        const url = route.request().url();
        if (url.startsWith(origin + '/') || url.startsWith('data:') || url.startsWith('blob:')) {
          await route.continue();
        } else {
          oracle.blockedRequests.push(url);
          await route.abort('blockedbyclient');
        }
      });
      page.on('pageerror', (err) => oracle.pageErrors.push(err.message));
      page.on('console', (msg) => {
        if (msg.type() === 'error') oracle.pageErrors.push(msg.text());
      });
      await page.goto(`${origin}/harness/mediapipe-face-harness.html`, { timeout: timeoutMs });
      await page.waitForFunction(() => (window as unknown as { faceHarness?: { ready: boolean } }).faceHarness?.ready === true, null, {
        timeout: timeoutMs,
      });
      return oracle;
    } catch (err) {
      await browser?.close();
      await new Promise((resolve) => server.close(resolve));
      throw err;
    }
  }

  /**
   * detect runs MediaPipe on each frame and resolves with one {@link OracleFace} list per frame, in
   * the frames' order (px of each frame, MediaPipe's order: NMS output); calls are queued because the
   * page runs one frame at a time. Rejects if a raw frame's size does not match its width x height,
   * or if minScore is below the model's {@link GRAPH_MIN_SCORE}.
   */
  detect(frames: readonly OracleFrame[], options: DetectOptions = {}): Promise<OracleFace[][]> {
    const next = this.queue.then(() => this.detectNow(frames, options));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async detectNow(frames: readonly OracleFrame[], { model = 'short', minScore, inference = 'cpu' }: DetectOptions): Promise<OracleFace[][]> {
    if (model !== 'short' && model !== 'full') throw new Error(`model must be 'short' or 'full', got ${String(model)}`);
    if (inference !== 'cpu' && inference !== 'gpu') throw new Error(`inference must be 'cpu' or 'gpu', got ${String(inference)}`);
    const threshold = minScore ?? GRAPH_MIN_SCORE[model];
    if (!(threshold >= GRAPH_MIN_SCORE[model])) {
      throw new Error(`minScore ${threshold} is below the ${model} graph's built-in ${GRAPH_MIN_SCORE[model]}: MediaPipe cannot report lower scores`);
    }
    const raw = await Promise.all(frames.map(toRawFrame));
    const out: OracleFace[][] = [];
    // Consecutive frames of one size go to the page together, in batches of bounded size.
    for (let start = 0; start < raw.length; ) {
      const { width, height } = raw[start];
      let end = start;
      let bytes = 0;
      while (end < raw.length && raw[end].width === width && raw[end].height === height && (end === start || bytes + raw[end].rgb.length <= MAX_BATCH_BYTES)) {
        bytes += raw[end].rgb.length;
        end++;
      }
      const batch = raw.slice(start, end).map((f) => Buffer.from(f.rgb.buffer, f.rgb.byteOffset, f.rgb.length).toString('base64'));
      const results = await this.page.evaluate(
        ([b, w, h, m, cpu]) => (window as unknown as { faceHarness: FaceHarness }).faceHarness.detect(b, w, h, m, cpu),
        [batch, width, height, model, inference === 'cpu'] as const,
      );
      for (const detections of results) out.push(detections.filter((d) => d.score >= threshold).map((d) => toPixels(d, width, height)));
      start = end;
    }
    return out;
  }

  /** close shuts Chromium and the loopback server. */
  async close(): Promise<void> {
    try {
      await this.browser.close();
    } finally {
      await new Promise((resolve) => this.server.close(resolve));
    }
  }
}
