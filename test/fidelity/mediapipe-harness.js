// mediapipe-harness.js: browser side of the fidelity test. It exposes window.harness.segment(),
// which runs MediaPipe's SelfieSegmentation on an RGBA image and returns the mask's alpha channel
// (confidence x 255) at the image resolution.
'use strict';

/** Decodes base64 into a Uint8Array. */
function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Encodes a Uint8Array as base64, in chunks so String.fromCharCode never gets too many arguments. */
function toBase64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

let solution;
let pending;

/**
 * getSolution returns the page's one SelfieSegmentation instance (general model, modelSelection 0,
 * no mirroring), created on first use. It is shared by all images: its graph has no temporal
 * smoothing (the same image gives the same mask whatever came before; the test checks this), and a
 * fresh instance or reset() per image would cost a graph restart (about 3 s on SwiftShader).
 */
async function getSolution() {
  if (solution) return solution;
  const created = new SelfieSegmentation({ locateFile: (file) => '/mediapipe/' + file });
  created.setOptions({ modelSelection: 0, selfieMode: false });
  // The mask is only valid inside the callback (MediaPipe frees it afterwards), so read it here.
  created.onResults((results) => {
    if (pending) pending.read(results.segmentationMask);
  });
  await created.initialize();
  solution = created;
  return solution;
}

/**
 * segment runs MediaPipe on one RGBA image (base64, width x height px) and returns { width, height,
 * maskWidth, maskHeight, maskType, alpha (base64, confidence x 255 per pixel), colourMax (largest R, G
 * or B value of the drawn mask) }. Calls must not overlap.
 */
async function segment(rgbaBase64, width, height) {
  if (pending) throw new Error('segment() called while another call is running');
  const input = document.createElement('canvas');
  input.width = width;
  input.height = height;
  input.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(fromBase64(rgbaBase64).buffer), width, height), 0, 0);

  const output = document.createElement('canvas');
  output.width = width;
  output.height = height;
  const ctx = output.getContext('2d', { willReadFrequently: true });

  let result;
  pending = {
    read(mask) {
      ctx.clearRect(0, 0, width, height);
      ctx.drawImage(mask, 0, 0, width, height);
      const rgba = ctx.getImageData(0, 0, width, height).data;
      const alpha = new Uint8Array(width * height);
      let colourMax = 0;
      for (let i = 0; i < alpha.length; i++) {
        alpha[i] = rgba[i * 4 + 3];
        colourMax = Math.max(colourMax, rgba[i * 4], rgba[i * 4 + 1], rgba[i * 4 + 2]);
      }
      result = {
        width,
        height,
        maskWidth: mask.width,
        maskHeight: mask.height,
        maskType: mask.constructor.name,
        alpha: toBase64(alpha),
        colourMax,
      };
    },
  };
  try {
    await (await getSolution()).send({ image: input });
  } finally {
    pending = undefined;
  }
  if (!result) throw new Error('SelfieSegmentation.send() resolved without calling onResults');
  return result;
}

window.harness = { segment, ready: typeof SelfieSegmentation === 'function' };
