// A model the fast evaluator cannot compile: the reason goes into the fast path's verdict and log.
export class UnsupportedModelError extends Error {}
