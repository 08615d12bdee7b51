// One CloudWatch dashboard per target: drift and model quality next to the traffic and health they explain,
// and the batch scoring state machine's runs and shards.
import { Construct } from 'constructs';
import { CloudwatchDashboard } from '@cdktf/provider-aws/lib/cloudwatch-dashboard/index.js';
import { DIMENSION, METRIC } from '../../pipeline/monitor/index.ts';
import { SCALE_METRICS } from '../../pipeline/scale/index.ts';
import { featurePsiQuery } from './alarms.ts';

export interface ModelDashboardProps {
  dashboardName: string;
  model: string;
  metricNamespace: string;
  region: string;
  psiAlert: number;
  driftShare: number;
  /** The config's `monitoring.quality`. */
  quality: { rmse_ratio_warn: number; rmse_ratio_alert: number; min_label_coverage: number };
  predictFunctionName: string;
  apiId: string;
  batchStateMachineArn: string;
}

type Widget = (x: number, y: number, title: string, metrics: unknown[], extra?: Record<string, unknown>) => unknown;

/** Model quality, one row at `y`: realized (late labels) next to estimated (no labels), both against the test RMSE. */
function qualityWidgets(
  widget: Widget,
  ns: string,
  model: string[],
  q: ModelDashboardProps['quality'],
  y: number,
): unknown[] {
  return [
    widget(0, y, 'Realized and estimated RMSE', [
      [ns, METRIC.RealizedRMSE, ...model],
      [ns, METRIC.EstimatedRMSE, ...model],
    ]),
    widget(
      8,
      y,
      'RMSE / test RMSE (realized, estimated)',
      [
        [ns, METRIC.RealizedRMSERatio, ...model],
        [ns, METRIC.EstimatedRMSERatio, ...model],
      ],
      {
        annotations: {
          horizontal: [
            { label: 'rmse_ratio_warn', value: q.rmse_ratio_warn },
            { label: 'rmse_ratio_alert', value: q.rmse_ratio_alert },
          ],
        },
      },
    ),
    widget(
      16,
      y,
      'Label coverage and bias',
      [
        [ns, METRIC.LabelCoverage, ...model, { stat: 'Minimum' }],
        [ns, METRIC.Bias, ...model, { yAxis: 'right' }],
      ],
      { annotations: { horizontal: [{ label: 'min_label_coverage', value: q.min_label_coverage }] } },
    ),
  ];
}

/** A row for the batch scoring state machine: its executions, and what each of its shards publishes. */
function batchRunWidgets(widget: Widget, props: ModelDashboardProps, y: number): unknown[] {
  const ns = props.metricNamespace;
  const model = [DIMENSION.Model, props.model];
  const machine = ['StateMachineArn', props.batchStateMachineArn];
  const executions = ['Started', 'Succeeded', 'Failed', 'TimedOut', 'Aborted'].map((m) => `Executions${m}`);
  return [
    widget(
      0,
      y,
      'Sharded batch runs (executions)',
      executions.map((m) => ['AWS/States', m, ...machine]),
      {
        stat: 'Sum',
        period: 300,
      },
    ),
    // One EMF line per shard (pipeline/scale's SCALE_METRICS).
    widget(
      8,
      y,
      'Shard duration (ms): p50, p99, max',
      ['p50', 'p99', 'Maximum'].map((stat) => [ns, SCALE_METRICS.shardDurationMs, ...model, { stat }]),
      { period: 300 },
    ),
    widget(
      16,
      y,
      'Shard rows per second: mean and slowest',
      ['Average', 'Minimum'].map((stat) => [ns, SCALE_METRICS.shardRowsPerSecond, ...model, { stat }]),
      { period: 300 },
    ),
  ];
}

export class ModelDashboard extends Construct {
  constructor(scope: Construct, id: string, props: ModelDashboardProps) {
    super(scope, id);
    const ns = props.metricNamespace;
    const model = [DIMENSION.Model, props.model];
    const fn = ['FunctionName', props.predictFunctionName];
    const api = ['ApiId', props.apiId];
    const widget = (x: number, y: number, title: string, metrics: unknown[], extra: Record<string, unknown> = {}) => ({
      type: 'metric',
      x,
      y,
      width: 8,
      height: 6,
      properties: { title, region: props.region, view: 'timeSeries', stat: 'Maximum', period: 3600, metrics, ...extra },
    });
    const body = {
      widgets: [
        widget(
          0,
          0,
          'Prediction PSI and drift share',
          [
            [ns, METRIC.PredictionPSI, ...model],
            [ns, METRIC.DriftShare, ...model],
          ],
          {
            annotations: {
              horizontal: [
                { label: 'psi_alert', value: props.psiAlert },
                { label: 'drift_share', value: props.driftShare },
              ],
            },
          },
        ),
        widget(
          8,
          0,
          'Feature PSI (max per feature)',
          [[{ expression: featurePsiQuery(ns, props.model, true), id: 'features', label: '' }]],
          {
            annotations: { horizontal: [{ label: 'psi_alert', value: props.psiAlert }] },
          },
        ),
        widget(16, 0, 'Rows monitored and monitor failures', [
          [ns, METRIC.RowsMonitored, ...model, { stat: 'Sum' }],
          [ns, METRIC.MonitorFailures, ...model, { stat: 'Sum' }],
        ]),
        widget(
          0,
          6,
          'Lambda invocations and errors',
          [
            ['AWS/Lambda', 'Invocations', ...fn],
            ['AWS/Lambda', 'Errors', ...fn],
            ['AWS/Lambda', 'Throttles', ...fn],
          ],
          { stat: 'Sum', period: 300 },
        ),
        widget(8, 6, 'Lambda p99 duration (ms)', [['AWS/Lambda', 'Duration', ...fn]], { stat: 'p99', period: 300 }),
        widget(
          16,
          6,
          'API requests, 4xx and 5xx',
          [
            ['AWS/ApiGateway', 'Count', ...api],
            ['AWS/ApiGateway', '4xx', ...api],
            ['AWS/ApiGateway', '5xx', ...api],
          ],
          { stat: 'Sum', period: 300 },
        ),
        ...batchRunWidgets(widget, props, 12),
        ...qualityWidgets(widget, ns, model, props.quality, 18),
      ],
    };
    new CloudwatchDashboard(this, 'dashboard', {
      dashboardName: props.dashboardName,
      dashboardBody: JSON.stringify(body),
    });
  }
}
