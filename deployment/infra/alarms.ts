// The target's alarms, all notifying one SNS topic: drift and model quality (from the monitor's metrics
// in `mltk/<model>`), monitor health, the prediction Lambda, API and dead-letter queue, and the batch
// scoring state machine.
import { Construct } from 'constructs';
import {
  CloudwatchMetricAlarm,
  type CloudwatchMetricAlarmConfig,
} from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';
// The monitor's metric names and dimensions are a contract; use its constants so a rename breaks here.
import { DIMENSION, METRIC } from '../../pipeline/monitor/index.ts';

export interface ModelAlarmsProps {
  /** Prefix of every alarm name, e.g. `mltk-sap_change-dev`. */
  namePrefix: string;
  model: string;
  metricNamespace: string;
  /** From the model config's `monitoring` section. */
  psiAlert: number;
  driftShare: number;
  /** From `monitoring.quality`: realized or estimated RMSE at this × the version's test RMSE alerts. */
  rmseRatioAlert: number;
  /** From `monitoring.quality`: a labels batch joining less than this share of its batch's predictions alerts. */
  minLabelCoverage: number;
  predictFunctionName: string;
  predictTimeoutS: number;
  monitorFunctionName: string;
  /** How often the monitor runs, in seconds: the period of the drift alarms. */
  monitorPeriodS: number;
  apiId: string;
  /** The scale-out batch scoring state machine (deployment/infra/batch-scoring.ts). */
  batchStateMachineArn: string;
  failureQueueName: string;
  alarmTopicArn: string;
}

/** The alarm names a target declares, by role. */
export function alarmNames(namePrefix: string) {
  return {
    predictionPsi: `${namePrefix}-prediction-psi`,
    featurePsi: `${namePrefix}-feature-psi`,
    driftShare: `${namePrefix}-drift-share`,
    realizedRmse: `${namePrefix}-realized-rmse`,
    estimatedRmse: `${namePrefix}-estimated-rmse`,
    labelCoverage: `${namePrefix}-label-coverage`,
    monitorFailures: `${namePrefix}-monitor-failures`,
    monitorErrors: `${namePrefix}-monitor-errors`,
    predictErrors: `${namePrefix}-predict-errors`,
    predictThrottles: `${namePrefix}-predict-throttles`,
    predictP99Duration: `${namePrefix}-predict-p99-duration`,
    api5xx: `${namePrefix}-api-5xx`,
    failedInvocations: `${namePrefix}-failed-invocations`,
    batchExecutionsFailed: `${namePrefix}-batch-executions-failed`,
  };
}

/** Metrics Insights query: the largest FeaturePSI over every feature of the model, one series. */
export function featurePsiQuery(namespace: string, model: string, groupByFeature = false): string {
  const { Model, Feature } = DIMENSION;
  return (
    `SELECT MAX(${METRIC.FeaturePSI}) FROM SCHEMA("${namespace}", ${Feature}, ${Model}) WHERE ${Model} = '${model}'` +
    (groupByFeature ? ` GROUP BY ${Feature}` : '')
  );
}

type AlarmSpec = Omit<CloudwatchMetricAlarmConfig, 'alarmActions' | 'okActions' | 'treatMissingData'> & {
  treatMissingData?: string;
};

export class ModelAlarms extends Construct {
  // one alarm per exported metric, declared side by side so that the thresholds read as one table
  // biome-ignore lint/complexity/noExcessiveLinesPerFunction: the reason is the comment above
  constructor(scope: Construct, id: string, props: ModelAlarmsProps) {
    super(scope, id);
    const names = alarmNames(props.namePrefix);
    const drift = {
      namespace: props.metricNamespace,
      dimensions: { [DIMENSION.Model]: props.model },
      period: props.monitorPeriodS,
      evaluationPeriods: 1,
    };
    const lambda = (fn: string) => ({ namespace: 'AWS/Lambda', dimensions: { FunctionName: fn }, period: 300 });
    const specs: Record<keyof typeof names, AlarmSpec> = {
      predictionPsi: {
        ...drift,
        alarmName: names.predictionPsi,
        metricName: METRIC.PredictionPSI,
        statistic: 'Maximum',
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        threshold: props.psiAlert,
        alarmDescription: `${props.model}: prediction distribution drifted (PSI >= psi_alert ${props.psiAlert})`,
      },
      featurePsi: {
        alarmName: names.featurePsi,
        evaluationPeriods: 1,
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        threshold: props.psiAlert,
        metricQuery: [
          {
            id: 'maxFeaturePsi',
            expression: featurePsiQuery(props.metricNamespace, props.model),
            period: props.monitorPeriodS,
            returnData: true,
          },
        ],
        alarmDescription: `${props.model}: some feature drifted (max FeaturePSI >= psi_alert ${props.psiAlert})`,
      },
      driftShare: {
        ...drift,
        alarmName: names.driftShare,
        metricName: METRIC.DriftShare,
        statistic: 'Maximum',
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        threshold: props.driftShare,
        alarmDescription: `${props.model}: share of drifted features >= drift_share ${props.driftShare}`,
      },
      // Quality: the ratio metrics hold each batch's RMSE against the test RMSE of the version that scored
      // it, so one threshold holds across promotions.
      realizedRmse: {
        ...drift,
        alarmName: names.realizedRmse,
        metricName: METRIC.RealizedRMSERatio,
        statistic: 'Maximum',
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        threshold: props.rmseRatioAlert,
        alarmDescription: `${props.model}: realized RMSE of a labels batch >= rmse_ratio_alert ${
          props.rmseRatioAlert
        } × the test RMSE`,
      },
      estimatedRmse: {
        ...drift,
        alarmName: names.estimatedRmse,
        metricName: METRIC.EstimatedRMSERatio,
        statistic: 'Maximum',
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        threshold: props.rmseRatioAlert,
        alarmDescription: `${props.model}: estimated RMSE of a batch (no labels yet) >= rmse_ratio_alert ${
          props.rmseRatioAlert
        } × the test RMSE`,
      },
      labelCoverage: {
        ...drift,
        alarmName: names.labelCoverage,
        metricName: METRIC.LabelCoverage,
        statistic: 'Minimum',
        comparisonOperator: 'LessThanThreshold',
        threshold: props.minLabelCoverage,
        alarmDescription: `${props.model}: a labels batch covers less than min_label_coverage ${
          props.minLabelCoverage
        } of its batch's predictions (a broken label feed?)`,
      },
      monitorFailures: {
        ...drift,
        alarmName: names.monitorFailures,
        metricName: METRIC.MonitorFailures,
        statistic: 'Sum',
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        threshold: 1,
        alarmDescription: `${props.model}: the drift monitor reported a failure`,
      },
      monitorErrors: {
        ...lambda(props.monitorFunctionName),
        alarmName: names.monitorErrors,
        metricName: 'Errors',
        statistic: 'Sum',
        evaluationPeriods: 1,
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        threshold: 1,
        alarmDescription: `${props.model}: the monitor Lambda crashed`,
      },
      predictErrors: {
        ...lambda(props.predictFunctionName),
        alarmName: names.predictErrors,
        metricName: 'Errors',
        statistic: 'Sum',
        evaluationPeriods: 1,
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        threshold: 1,
        alarmDescription: `${props.model}: the prediction Lambda raised errors`,
      },
      predictThrottles: {
        ...lambda(props.predictFunctionName),
        alarmName: names.predictThrottles,
        metricName: 'Throttles',
        statistic: 'Sum',
        evaluationPeriods: 1,
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        threshold: 1,
        alarmDescription: `${props.model}: the prediction Lambda was throttled`,
      },
      predictP99Duration: {
        ...lambda(props.predictFunctionName),
        alarmName: names.predictP99Duration,
        metricName: 'Duration',
        extendedStatistic: 'p99',
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        threshold: Math.round(props.predictTimeoutS * 1000 * 0.8),
        alarmDescription: `${props.model}: p99 prediction latency >= 80% of the ${
          props.predictTimeoutS
        }s timeout for 15 minutes`,
      },
      api5xx: {
        namespace: 'AWS/ApiGateway',
        dimensions: { ApiId: props.apiId },
        period: 300,
        evaluationPeriods: 1,
        alarmName: names.api5xx,
        metricName: '5xx',
        statistic: 'Sum',
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        threshold: 5,
        alarmDescription: `${props.model}: the API answered 5xx at least 5 times in 5 minutes`,
      },
      failedInvocations: {
        namespace: 'AWS/SQS',
        dimensions: { QueueName: props.failureQueueName },
        period: 300,
        evaluationPeriods: 1,
        alarmName: names.failedInvocations,
        metricName: 'ApproximateNumberOfMessagesVisible',
        statistic: 'Maximum',
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        threshold: 1,
        alarmDescription: `${
          props.model
        }: an S3 batch or a monitor run failed after its retries (see the dead-letter queue)`,
      },
      batchExecutionsFailed: {
        namespace: 'AWS/States',
        dimensions: { StateMachineArn: props.batchStateMachineArn },
        period: 300,
        evaluationPeriods: 1,
        alarmName: names.batchExecutionsFailed,
        metricName: 'ExecutionsFailed',
        statistic: 'Sum',
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        threshold: 1,
        alarmDescription: `${props.model}: a sharded batch run failed (a step kept failing; nothing final written)`,
      },
    };
    for (const [key, spec] of Object.entries(specs)) {
      new CloudwatchMetricAlarm(this, key, {
        treatMissingData: 'notBreaching',
        ...spec,
        alarmActions: [props.alarmTopicArn],
        okActions: [props.alarmTopicArn],
      });
    }
  }
}
