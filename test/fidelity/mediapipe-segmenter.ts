import { readFile, readdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

/** MEDIAPIPE_DIR is the installed npm package whose wasm, tflite and graph files the harness loads. */
export const MEDIAPIPE_DIR = path.dirname(
  createRequire(import.meta.url).resolve('@mediapipe/selfie_segmentation'),
);

const HARNESS_FILES = ['mediapipe-harness.html', 'mediapipe-harness.js'];

const MIME_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** Mask is one confidence map: `data[y * width + x]` is person confidence x 255 (0..255). */
export interface Mask {
  data: Uint8Array;
  width: number;
  height: number;
}

/** HarnessResult is what window.harness.segment() returns (see mediapipe-harness.js). */
interface HarnessResult {
  width: number;
  height: number;
  maskWidth: number;
  maskHeight: number;
  maskType: string;
  alpha: string;
  colourMax: number;
}

/** MediaPipeMask is a {@link Mask} plus what the browser reported about the solution's mask object. */
export interface MediaPipeMask extends Mask {
  /** Size of `results.segmentationMask` before it was drawn at the image resolution, px. */
  nativeWidth: number;
  nativeHeight: number;
  /** Constructor name of `results.segmentationMask` (ImageBitmap, HTMLCanvasElement, ...). */
  nativeType: string;
  /** Largest R, G or B value of the drawn mask; the confidence is read from alpha only. */
  colourMax: number;
}

/** serveFile answers one loopback request from the two allowed folders, or returns false. */
async function serveFile(urlPath: string): Promise<{ body: Buffer; type: string } | false> {
  const match = /^\/(mediapipe|harness)\/([^/]+)$/.exec(urlPath);
  if (!match) return false;
  const [, folder, name] = match;
  const dir = folder === 'mediapipe' ? MEDIAPIPE_DIR : here;
  const allowed = folder === 'mediapipe' ? await readdir(MEDIAPIPE_DIR) : HARNESS_FILES;
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

/**
 * MediaPipeSegmenter drives the original MediaPipe selfie-segmentation JavaScript solution
 * (general model) in headless Chromium on SwiftShader and returns its confidence masks.
 * Start it once with {@link MediaPipeSegmenter.start} and close() it in `after()`.
 */
export class MediaPipeSegmenter {
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

  /** start launches the loopback server and Chromium and waits (up to timeoutMs) for the harness page. */
  static async start(timeoutMs = 30_000): Promise<MediaPipeSegmenter> {
    const server = await startStaticServer();
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page = await browser.newPage();
      const segmenter = new MediaPipeSegmenter(server, browser, page);
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await page.route('**/*', async (route) => {
        const url = route.request().url();
        if (url.startsWith(origin + '/') || url.startsWith('data:') || url.startsWith('blob:')) {
          await route.continue();
        } else {
          segmenter.blockedRequests.push(url);
          await route.abort('blockedbyclient');
        }
      });
      page.on('pageerror', (err) => segmenter.pageErrors.push(err.message));
      page.on('console', (msg) => {
        if (msg.type() === 'error') segmenter.pageErrors.push(msg.text());
      });
      await page.goto(`${origin}/harness/mediapipe-harness.html`, { timeout: timeoutMs });
      await page.waitForFunction(() => (window as unknown as { harness?: { ready: boolean } }).harness?.ready === true, null, {
        timeout: timeoutMs,
      });
      return segmenter;
    } catch (err) {
      await browser?.close();
      await new Promise((resolve) => server.close(resolve));
      throw err;
    }
  }

  /**
   * segment returns MediaPipe's mask for the image file at imagePath (any format sharp reads), at
   * its resolution. Calls are queued: the page runs one image at a time.
   */
  segment(imagePath: string): Promise<MediaPipeMask> {
    const next = this.queue.then(() => this.segmentNow(imagePath));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async segmentNow(imagePath: string): Promise<MediaPipeMask> {
    const { data, info } = await sharp(imagePath).ensureAlpha(1).raw().toBuffer({ resolveWithObject: true });
    const result = await this.page.evaluate(
      ([rgba, width, height]) =>
        (window as unknown as { harness: { segment(r: string, w: number, h: number): Promise<HarnessResult> } }).harness.segment(
          rgba,
          width,
          height,
        ),
      [data.toString('base64'), info.width, info.height] as const,
    );
    return {
      data: new Uint8Array(Buffer.from(result.alpha, 'base64')),
      width: result.width,
      height: result.height,
      nativeWidth: result.maskWidth,
      nativeHeight: result.maskHeight,
      nativeType: result.maskType,
      colourMax: result.colourMax,
    };
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
