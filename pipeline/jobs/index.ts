// Jobs: the multi-step workflows the CLI and handlers drive (train → register → promote).
export { runTrainJob, trainingColumns, type TrainJobOptions, type TrainJobResult } from './train-job.ts';
export { decidePromotion, promoteIfBetter, type PromotionDecision } from './promote.ts';
export { resolveTrainingData, type DataSource } from './dataset-source.ts';
export { splitRows } from './split.ts';
