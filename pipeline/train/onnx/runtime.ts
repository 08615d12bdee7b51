// ONNX Runtime, loaded on first use: its native binding costs more than `mltk --help`, `data` or
// `runs` take in all, and they never score. Synchronous (a CommonJS require), so tensor builders
// stay synchronous; types come from `import type`, which loads nothing.
import { createRequire } from 'node:module';
import type * as Ort from 'onnxruntime-node';

export type OnnxRuntime = typeof Ort;

let runtime: OnnxRuntime | undefined;

export function onnxRuntime(): OnnxRuntime {
  runtime ??= createRequire(import.meta.url)('onnxruntime-node') as OnnxRuntime;
  return runtime;
}
