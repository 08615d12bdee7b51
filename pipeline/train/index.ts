// Public surface of the trainer: train a model from a config and a Table, export it as ONNX over
// raw features, and score or evaluate predictions.
export { trainModel } from './train.ts';
export type { TrainedModel, TrainOptions, RoundLog } from './types.ts';
export { exportOnnx, onnxInputSpec, ONNX_IR_VERSION, ONNX_OPSET, ONNX_ML_OPSET, OUTPUT_NAME } from './onnx/export.ts';
export type { ExportableModel, OnnxInput } from './onnx/export.ts';
export { onnxFeeds } from './onnx/session.ts';
export { onnxRuntime, type OnnxRuntime } from './onnx/runtime.ts';
export { onnxModelProto, ONNX_DESCRIPTOR } from './onnx/proto.ts';
export { evaluate, recordableMetrics, segmentGroups, BOOLEAN_SEGMENTS } from './evaluate.ts';
export type { Evaluation, GroupMetrics, Groups, RecordableMetrics } from './evaluate.ts';
// The model shapes exportOnnx takes, for callers that build or load a model themselves.
export type { TreeEnsemble } from './ensemble.ts';
export type { Tree } from './grow.ts';
export type { LinearModel } from './linear.ts';
export type { CategoryCodes } from './features.ts';
export { derivedValues } from './features.ts';
export { mulberry32, permutation } from './random.ts';
export {
  trainLossEstimator,
  lossEstimatorConfig,
  LOSS_ESTIMATOR_INPUT,
  LOSS_OUTPUTS,
  MIN_ESTIMATOR_ROWS,
  ESTIMATOR_FOLDS,
  ESTIMATOR_PARAMS,
  type LossEstimator,
  type LossCalibration,
} from './loss-estimator.ts';
