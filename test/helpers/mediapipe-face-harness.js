// mediapipe-face-harness.js: browser side of MediaPipeFaceOracle. It exposes window.faceHarness.detect(),
// which runs MediaPipe's FaceDetection on packed RGB24 frames and returns the raw detections.
'use strict';

/** Decodes base64 into a Uint8Array. */
function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

let solution;
let current = '';
let pending;

/**
 * getSolution returns the page's one FaceDetection instance, created on first use, running the given
 * model ('short' | 'full') with TFLite inference on the CPU (wasm, float32) or the GPU (WebGL, here
 * SwiftShader; about 20x slower and float16). One instance serves every frame: the graph has no
 * temporal state (no tracking or smoothing; the oracle's self-test checks this).
 *
 * Two quirks of this solution build (0.4.1657300184) shape this function:
 * - A new model takes effect one initialize() late: initialize() first loads the graph it already
 *   knows, then runs the option's onChange, which swaps the TFLite file and the graph URL. So after
 *   setOptions({ model }) it is initialized twice before any frame is sent; otherwise the first frame
 *   after a switch runs the previous model. With no model option at all the graph finds no TFLite
 *   file, so the model is always set.
 * - minDetectionConfidence is never set: its change request replaces the TensorsToDetectionsCalculator
 *   options instead of merging into them and the graph aborts (RET_CHECK options_.has_num_classes()).
 *   The graph's own min_score_thresh applies (0.5 short, 0.6 full) and the caller filters above it.
 */
async function getSolution(model, useCpuInference) {
  if (!solution) {
    solution = new FaceDetection({ locateFile: (file) => '/mediapipe/' + file });
    // Detections are only valid inside the callback, so copy them out here.
    solution.onResults((results) => {
      if (pending) pending.read(results);
    });
  }
  const wanted = model + (useCpuInference ? '/cpu' : '/gpu');
  if (current !== wanted) {
    solution.setOptions({ model, useCpuInference, selfieMode: false });
    await solution.initialize();
    await solution.initialize();
    current = wanted;
  }
  return solution;
}

/**
 * scoreOf finds a detection's score. The solution's Detection type declares only boundingBox and
 * landmarks; the score sits in a minified field holding [{ index, <score> }] (the label index and
 * the score), so it is found by shape rather than by name.
 */
function scoreOf(d) {
  for (const key of Object.keys(d)) {
    const value = d[key];
    if (key === 'boundingBox' || key === 'landmarks' || !Array.isArray(value) || value.length !== 1) continue;
    const entry = value[0];
    if (!entry || typeof entry.index !== 'number') continue;
    const numbers = Object.keys(entry).filter((k) => k !== 'index' && typeof entry[k] === 'number');
    if (numbers.length === 1) return entry[numbers[0]];
  }
  throw new Error('no score found in detection with keys ' + Object.keys(d).join(','));
}

/** copyDetection turns one results.detections entry into plain data (coordinates normalised 0..1 to the frame). */
function copyDetection(d) {
  const box = d.boundingBox;
  return {
    xCenter: box.xCenter,
    yCenter: box.yCenter,
    width: box.width,
    height: box.height,
    score: scoreOf(d),
    landmarks: (d.landmarks || []).map((p) => [p.x, p.y]),
  };
}

const canvas = document.createElement('canvas');
const ctx = canvas.getContext('2d');

/**
 * detect runs MediaPipe (model 'short' | 'full', CPU inference when useCpuInference) on packed RGB24
 * frames (one base64 string per frame, all width x height px) and returns one list of detections per
 * frame. Calls must not overlap.
 */
async function detect(framesBase64, width, height, model, useCpuInference) {
  if (pending) throw new Error('detect() called while another call is running');
  const fd = await getSolution(model, useCpuInference);
  canvas.width = width;
  canvas.height = height;
  const image = new ImageData(width, height);
  const rgba = image.data;
  const out = [];
  for (const frameBase64 of framesBase64) {
    const rgb = fromBase64(frameBase64);
    if (rgb.length !== width * height * 3) throw new Error(`frame has ${rgb.length} bytes, expected ${width * height * 3}`);
    for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
      rgba[j] = rgb[i];
      rgba[j + 1] = rgb[i + 1];
      rgba[j + 2] = rgb[i + 2];
      rgba[j + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
    let result;
    pending = { read: (results) => { result = results.detections.map(copyDetection); } };
    try {
      await fd.send({ image: canvas });
    } finally {
      pending = undefined;
    }
    if (!result) throw new Error('FaceDetection.send() resolved without calling onResults');
    out.push(result);
  }
  return out;
}

window.faceHarness = { detect, ready: typeof FaceDetection === 'function' };
