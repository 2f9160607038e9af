// CLI: `npm run build:models` (also run at postinstall). Builds every registered model into models/build/.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { buildModelBytes } from './build-model.ts';
import { fileSha256 } from './file-sha256.ts';
import { MODEL_IDS, MODEL_REGISTRY, MODELS_BUILD_DIR, modelPath, sourceFileHashes, sourceLabel, type ModelId } from './registry.ts';

async function hashOrNull(path: string): Promise<string | null> {
  try {
    return await fileSha256(path);
  } catch {
    return null;
  }
}

async function buildOne(id: ModelId): Promise<string> {
  const entry = MODEL_REGISTRY[id];
  const out = modelPath(id);
  for (const { path, sha256 } of sourceFileHashes(id)) {
    const sourceHash = await fileSha256(path);
    if (sourceHash !== sha256) {
      throw new Error(`${id}: source ${sourceLabel(entry.source)}: ${path} has sha256 ${sourceHash}, registry expects ${sha256} (package version changed?)`);
    }
  }
  if ((await hashOrNull(out)) === entry.onnxSha256) return `${id}: up to date ${out}`;
  const started = performance.now();
  const built = await buildModelBytes(id);
  if (built.onnxSha256 !== entry.onnxSha256) {
    throw new Error(`${id}: built ONNX has sha256 ${built.onnxSha256}, registry pins ${entry.onnxSha256}; if the converter changed on purpose, update onnxSha256 in models/registry.ts`);
  }
  const tmp = `${out}.${process.pid}.tmp`;
  await writeFile(tmp, built.onnx);
  await rename(tmp, out);
  return `${id}: built ${out} (${(built.onnx.byteLength / 1024).toFixed(0)} KiB, ${(performance.now() - started).toFixed(0)} ms)`;
}

await mkdir(MODELS_BUILD_DIR, { recursive: true });
let failed = false;
for (const id of MODEL_IDS) {
  try {
    console.log(await buildOne(id));
  } catch (err) {
    failed = true;
    console.error(`build:models: ${err instanceof Error ? err.message : String(err)}`);
  }
}
if (failed) process.exitCode = 1;
