import * as ort from 'onnxruntime-node';

/** SINGLE_THREAD_SESSION_OPTIONS are the ONNX Runtime CPU options the project measures and serves with: 1 intra-op thread, 1 inter-op thread, graph optimisation 'all'. */
export const SINGLE_THREAD_SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  executionProviders: ['cpu'],
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
};

/** createCpuSession opens an ONNX model (file path or bytes) on the CPU execution provider with SINGLE_THREAD_SESSION_OPTIONS unless `options` overrides them. */
export async function createCpuSession(model: string | Uint8Array, options: ort.InferenceSession.SessionOptions = {}): Promise<ort.InferenceSession> {
  const merged = { ...SINGLE_THREAD_SESSION_OPTIONS, ...options };
  return typeof model === 'string' ? ort.InferenceSession.create(model, merged) : ort.InferenceSession.create(model, merged);
}
