// Plain NHWC reference kernels with TensorFlow Lite semantics, written independently of the converter.

/** Tensor4 is a dense NHWC tensor: data with its shape [N, H, W, C]. */
export interface Tensor4 {
  data: Float32Array;
  shape: number[];
}

/** tfSamePadBefore is TensorFlow's SAME padding before the data for one axis: floor(total / 2) with total = max((ceil(in / s) - 1) * s + (k - 1) * d + 1 - in, 0). */
export function tfSamePadBefore(inSize: number, k: number, s: number, d = 1): number {
  const out = Math.ceil(inSize / s);
  return Math.floor(Math.max((out - 1) * s + (k - 1) * d + 1 - inSize, 0) / 2);
}

/** ConvParams are strides, dilations and padding of a 2-D convolution. */
export interface ConvParams {
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  padding: 'SAME' | 'VALID';
}

function outSize(inSize: number, k: number, s: number, d: number, padding: 'SAME' | 'VALID'): number {
  return padding === 'SAME' ? Math.ceil(inSize / s) : Math.ceil((inSize - (k - 1) * d) / s);
}

/** referenceConv2d computes TFLite CONV_2D: x [N, H, W, I], w [O, KH, KW, I], bias [O]; depthwise when `depthMultiplier` is set (w [1, KH, KW, I * M]). */
export function referenceConv2d(x: Tensor4, w: Tensor4, bias: Float32Array | undefined, p: ConvParams, depthMultiplier?: number): Tensor4 {
  const [n, h, wd, c] = x.shape as [number, number, number, number];
  const depthwise = depthMultiplier !== undefined;
  const [kh, kw] = [w.shape[1]!, w.shape[2]!];
  const outC = depthwise ? c * depthMultiplier : w.shape[0]!;
  const oh = outSize(h, kh, p.strideH, p.dilationH, p.padding);
  const ow = outSize(wd, kw, p.strideW, p.dilationW, p.padding);
  const padT = p.padding === 'SAME' ? tfSamePadBefore(h, kh, p.strideH, p.dilationH) : 0;
  const padL = p.padding === 'SAME' ? tfSamePadBefore(wd, kw, p.strideW, p.dilationW) : 0;
  const out = new Float32Array(n * oh * ow * outC);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let oc = 0; oc < outC; oc++) {
          let acc = bias ? bias[oc]! : 0;
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * p.strideH - padT + ky * p.dilationH;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * p.strideW - padL + kx * p.dilationW;
              if (ix < 0 || ix >= wd) continue;
              const base = ((b * h + iy) * wd + ix) * c;
              if (depthwise) {
                acc += x.data[base + Math.floor(oc / depthMultiplier)]! * w.data[(ky * kw + kx) * outC + oc]!;
              } else {
                for (let ic = 0; ic < c; ic++) acc += x.data[base + ic]! * w.data[((oc * kh + ky) * kw + kx) * c + ic]!;
              }
            }
          }
          out[((b * oh + oy) * ow + ox) * outC + oc] = acc;
        }
  return { data: out, shape: [n, oh, ow, outC] };
}

/** referenceTransposeConv computes TFLite/MediaPipe transposed convolution + bias: x [N, H, W, I], w [O, KH, KW, I], output size given; the crop before the data is TFLite's SAME padding of the forward conv from output to input size. */
export function referenceTransposeConv(x: Tensor4, w: Tensor4, bias: Float32Array, strideH: number, strideW: number, outH: number, outW: number, padding: 'SAME' | 'VALID'): Tensor4 {
  const [n, h, wd, c] = x.shape as [number, number, number, number];
  const [outC, kh, kw] = w.shape as [number, number, number];
  const padT = padding === 'SAME' ? tfSamePadBefore(outH, kh, strideH) : 0;
  const padL = padding === 'SAME' ? tfSamePadBefore(outW, kw, strideW) : 0;
  const out = new Float32Array(n * outH * outW * outC);
  for (let b = 0; b < n; b++)
    for (let iy = 0; iy < h; iy++)
      for (let ix = 0; ix < wd; ix++)
        for (let ky = 0; ky < kh; ky++) {
          const oy = iy * strideH - padT + ky;
          if (oy < 0 || oy >= outH) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ox = ix * strideW - padL + kx;
            if (ox < 0 || ox >= outW) continue;
            for (let oc = 0; oc < outC; oc++) {
              let acc = 0;
              for (let ic = 0; ic < c; ic++) acc += x.data[((b * h + iy) * wd + ix) * c + ic]! * w.data[((oc * kh + ky) * kw + kx) * c + ic]!;
              out[((b * outH + oy) * outW + ox) * outC + oc]! += acc;
            }
          }
        }
  for (let i = 0; i < out.length; i++) out[i]! += bias[i % outC]!;
  return { data: out, shape: [n, outH, outW, outC] };
}
