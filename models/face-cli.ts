// CLI: npm run faces -- <image> [--model short|full] [--min-score S] [--tiles off|auto] [--json]
import { Command, InvalidArgumentError } from 'commander';
import { closeFaceDetector, detectFacesInImage, openFaceDetector } from './face/detect-image.ts';
import type { FaceModelName } from './face/face-models.ts';
import type { FaceTileMode } from './face/face-tiles.ts';
import { readRgbImage } from './segmentation/read-image.ts';

interface CliOptions {
  model: string;
  minScore?: number;
  tiles: string;
  json?: boolean;
}

/** Exit codes: 1 for a failure while running (model missing, inference), 2 for bad usage or an unreadable image. */
class UsageError extends Error {}

const MODELS: readonly FaceModelName[] = ['short', 'full'];
const TILE_MODES: readonly FaceTileMode[] = ['off', 'auto'];

function parseScore(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`must be a number in 0..1, got '${value}'`);
  return n;
}

const round = (v: number, digits: number) => Number(v.toFixed(digits));

async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name('faces')
    .description('Detect faces in a still image with BlazeFace (short or full range) and print boxes, scores and 6 keypoints in image px.')
    .argument('<image>', 'input image (PNG, JPEG, GIF first frame, ...)')
    .option('--model <name>', 'short (128x128, faces within ~2 m) or full (192x192, within ~5 m)', 'short')
    .option('--min-score <s>', "score threshold 0..1 (default the model's: short 0.5, full 0.6)", parseScore)
    .option('--tiles <mode>', 'off (whole image once) or auto (add overlapping tiles when small faces would be missed)', 'off')
    .option('--json', 'print {"width","height","detections":[{"x","y","width","height","score","keypoints":[[x,y],...]}]}')
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: (s) => process.stdout.write(s) });
  try {
    program.parse(argv);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return;
    throw new UsageError((e.message ?? String(err)).replace(/^error: /, ''));
  }
  const [input] = program.args as [string];
  const options = program.opts<CliOptions>();
  const model = options.model as FaceModelName;
  if (!MODELS.includes(model)) throw new UsageError(`--model must be short or full, got '${options.model}'`);
  const tiles = options.tiles as FaceTileMode;
  if (!TILE_MODES.includes(tiles)) throw new UsageError(`--tiles must be off or auto, got '${options.tiles}'`);

  const image = await readRgbImage(input).catch((err: Error) => {
    throw new UsageError(`cannot read image '${input}': ${err.message.split('\n')[0]}`);
  });
  const detector = await openFaceDetector(model);
  try {
    const started = performance.now();
    const faces = await detectFacesInImage(detector, image, { minScore: options.minScore, tiles });
    const ms = performance.now() - started;
    const detections = faces.map((f) => ({
      x: round(f.xMin, 2),
      y: round(f.yMin, 2),
      width: round(f.width, 2),
      height: round(f.height, 2),
      score: round(f.score, 4),
      keypoints: f.keypoints.map((p) => [round(p.x, 2), round(p.y, 2)]),
    }));
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ width: image.width, height: image.height, detections })}\n`);
      return;
    }
    const lines = [`${input}: ${image.width}x${image.height} px, ${faces.length} face${faces.length === 1 ? '' : 's'} (${model} range, tiles ${tiles}, ${ms.toFixed(0)} ms)`];
    detections.forEach((d, i) => lines.push(`  ${i + 1}. score ${d.score.toFixed(2)}  box ${d.width.toFixed(0)}x${d.height.toFixed(0)} px at (${d.x.toFixed(0)}, ${d.y.toFixed(0)})`));
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await closeFaceDetector(detector);
  }
}

main(process.argv).catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`faces: ${message.split('\n')[0]}\n`);
  process.exitCode = err instanceof UsageError ? 2 : 1;
});
