import { shapeInLayout, type Layout } from '../layout.ts';
import type { OpMapping } from '../op-mapping.ts';

/** resizeBilinearMapping maps RESIZE_BILINEAR (size = constant int32 [newH, newW]) to ONNX Resize mode 'linear' with sizes; align_corners -> 'align_corners', half_pixel_centers -> 'half_pixel', neither -> 'asymmetric' (TFLite's legacy scaling). */
export const resizeBilinearMapping: OpMapping = (ctx, op) => {
  const [xIndex, sizeIndex] = op.inputs as [number, number];
  const x = ctx.tensor(xIndex);
  const o = op.options as { alignCorners?: boolean; halfPixelCenters?: boolean };
  if (o.alignCorners && o.halfPixelCenters) throw ctx.fail('RESIZE_BILINEAR with both align_corners and half_pixel_centers is undefined');
  const [newH, newW] = ctx.intConstant(sizeIndex, 'RESIZE_BILINEAR size') as [number, number];
  const layout: Layout = ctx.preferredLayout;
  const sizes = ctx.graph.addInt64Initializer(`${x.name}_resize_sizes`, [4], shapeInLayout([x.shape[0]!, newH, newW, x.shape[3]!], layout));
  const mode = o.alignCorners ? 'align_corners' : o.halfPixelCenters ? 'half_pixel' : 'asymmetric';
  ctx.node('Resize', [ctx.input(xIndex, layout), '', '', sizes], [ctx.output(op.outputs[0]!, layout)], {
    mode: 'linear',
    coordinate_transformation_mode: mode,
  });
};
