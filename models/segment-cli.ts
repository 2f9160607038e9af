// CLI: npm run segment -- <input.png|jpg> --mask <mask.png> [--model selfie|landscape] [--out <composite.png>] [--background c0c0c0]
import { Command, InvalidArgumentError } from 'commander';
import sharp from 'sharp';
import { modelEntry, verifyModelFile, type ModelId } from './registry.ts';
import { createCpuSession } from './runtime/ort-session.ts';
import { parseHexColour, replaceBackground } from './segmentation/composite-background.ts';
import { readRgbImage } from './segmentation/read-image.ts';
import { segmentImage } from './segmentation/segment-image.ts';
import { confidenceToGray8 } from './segmentation/upsample-mask.ts';

const MODEL_CHOICES: Record<string, ModelId> = { selfie: 'selfie', landscape: 'selfie-landscape' };

interface CliOptions {
  mask: string;
  model: string;
  out?: string;
  background: string;
}

async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name('segment')
    .description('Write the person-confidence mask (8-bit grey PNG, input resolution) of a still image, and optionally the image on a solid background.')
    .argument('<input>', 'input image (PNG, JPEG, ...)')
    .requiredOption('--mask <file>', 'output mask PNG: confidence x 255, 8-bit grayscale')
    .option('--model <name>', 'selfie (256x256) or landscape (256x144)', 'selfie')
    .option('--out <file>', 'output composite PNG: the image alpha-blended over --background by confidence')
    .option('--background <rrggbb>', 'background colour for --out', 'c0c0c0')
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
  try {
    program.parse(argv);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return;
    throw new Error((e.message ?? String(err)).replace(/^error: /, ''));
  }
  const [input] = program.args as [string];
  const options = program.opts<CliOptions>();
  const id = MODEL_CHOICES[options.model];
  if (!id) throw new InvalidArgumentError(`--model must be selfie or landscape, got '${options.model}'`);
  const colour = parseHexColour(options.background);

  const entry = modelEntry(id);
  const [modelFile, image] = await Promise.all([
    verifyModelFile(id),
    readRgbImage(input).catch((err: Error) => {
      throw new Error(`cannot read image '${input}': ${err.message.split('\n')[0]}`);
    }),
  ]);
  const session = await createCpuSession(modelFile);
  try {
    const confidence = await segmentImage(session, entry, image);
    const grey = sharp(confidenceToGray8(confidence), { raw: { width: image.width, height: image.height, channels: 1 } });
    await grey.toColourspace('b-w').png().toFile(options.mask);
    if (options.out) {
      const composite = replaceBackground(image, confidence, colour);
      await sharp(composite, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toFile(options.out);
    }
  } finally {
    await session.release();
  }
}

main(process.argv).catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`segment: ${message.split('\n')[0]}\n`);
  process.exitCode = 1;
});
