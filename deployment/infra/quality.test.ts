// Model quality in the service stack as `Testing.synth` writes it: a labels object under labels/ in the
// data bucket invokes the monitor (one notification configuration per bucket: beside incoming/'s route
// to the prediction function), the monitor's role reads labels/ and nothing new besides, and the
// config's `monitoring.quality` thresholds drive alarms and dashboard widgets on the monitor's exported
// metric names (realized from labels, estimated from the loss estimator).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type App, Testing } from 'cdktf';
import { loadModelConfig, type ModelConfig } from '../../pipeline/config/index.ts';
import { DIMENSION, METRIC } from '../../pipeline/monitor/index.ts';
import { LABELS_PREFIX } from '../../pipeline/store/index.ts';
import { buildApp, type TargetStacks } from '../../main.ts';
import { alarmNames } from './alarms.ts';
import { ServiceStack } from './stacks.ts';

type Block = Record<string, any>;
const TARGET = 'sap_change-prod';
let target: TargetStacks;
let config: ModelConfig;
let resources: Block;

const synthWith = (cfg: ModelConfig): Block => {
  const stack = new ServiceStack(Testing.app() as App, 'quality-test', {
    target: target.target,
    inputs: target.inputs,
    state: { bucket: 'state', region: 'eu-west-2' },
    config: cfg,
  });
  return JSON.parse(Testing.synth(stack)).resource;
};

const fnRef = (rs: Block, name: string): string => {
  const [id] = Object.entries(rs.aws_lambda_function as Record<string, Block>).find(
    ([, f]) => f.function_name === name,
  )!;
  return `\${aws_lambda_function.${id}.arn}`;
};

before(async () => {
  const { targets } = await buildApp({}, { app: Testing.app() });
  target = targets.find((t) => t.target.branch === TARGET)!;
  config = await loadModelConfig('configs/sap_change.json');
  resources = JSON.parse(Testing.synth(target.service)).resource;
});

test(
  'a labels object under labels/ in the data bucket invokes the monitor, beside incoming/ invoking the prediction ' +
    'function',
  () => {
    const data = target.inputs.buckets.data;
    const notifications = Object.values(resources.aws_s3_bucket_notification as Record<string, Block>).filter(
      (n) => n.bucket === data,
    );
    assert.equal(
      notifications.length,
      1,
      "S3 keeps one notification configuration per bucket: the data bucket's is one",
    );
    const routes = (notifications[0]!.lambda_function as Block[]).map((r) => [r.filter_prefix, r.lambda_function_arn]);
    assert.deepEqual(routes.sort(), [
      ['incoming/', fnRef(resources, `mltk-${TARGET}-predict`)],
      [LABELS_PREFIX, fnRef(resources, `mltk-${TARGET}-monitor`)],
    ]);
    const fromData = Object.values(resources.aws_lambda_permission as Record<string, Block>).filter(
      (p) => p.principal === 's3.amazonaws.com' && p.source_arn === `arn:aws:s3:::${data}`,
    );
    assert.equal(fromData.length, 2);
    const monitorPermission = fromData.find((p) => p.statement_id === 'AllowS3DataBucketLabels')!;
    assert.ok(monitorPermission, 'S3 may invoke the monitor from the data bucket');
    assert.ok(monitorPermission.source_account, 'only from the deploying account');
    assert.ok(
      (notifications[0]!.depends_on as string[]).length >= 2,
      'S3 checks both permissions when the configuration is written',
    );
  },
);

test("the monitor's role reads labels/ of the data bucket, and still writes under monitoring/ only", () => {
  const monitorRole = Object.entries(resources.aws_iam_role as Record<string, Block>).find(
    ([, r]) => r.name === `mltk-${TARGET}-monitor`,
  )![0];
  const policy = Object.values(resources.aws_iam_role_policy as Record<string, Block>).find(
    (p) => p.role === `\${aws_iam_role.${monitorRole}.id}`,
  )!;
  const statements = JSON.parse(policy.policy).Statement as Block[];
  const data = target.inputs.buckets.data;
  const labels = statements.find((s) => s.Sid === 'ReadLabels')!;
  assert.deepEqual([labels.Action, labels.Resource], [['s3:GetObject'], [`arn:aws:s3:::${data}/labels/*`]]);
  const writes = statements.filter((s) => (s.Action as string[]).some((a) => a.startsWith('s3:Put')));
  assert.deepEqual(
    writes.map((s) => s.Resource),
    [[`arn:aws:s3:::${target.inputs.buckets.predictions}/monitoring/*`]],
  );
});

test("the config's monitoring.quality thresholds drive the quality alarms, on the monitor's metric names", () => {
  const q = { rmse_ratio_warn: 1.15, rmse_ratio_alert: 1.4, min_label_coverage: 0.3 };
  const rs = synthWith({ ...config, monitoring: { ...config.monitoring, quality: q } });
  const names = alarmNames(`mltk-${TARGET}`);
  const alarm = (name: string) =>
    Object.values(rs.aws_cloudwatch_metric_alarm as Record<string, Block>).find((a) => a.alarm_name === name)!;
  const common = { namespace: 'mltk/sap_change', dimensions: { [DIMENSION.Model]: 'sap_change' }, period: 3600 };
  for (const [name, metric, statistic, op, threshold] of [
    [names.realizedRmse, METRIC.RealizedRMSERatio, 'Maximum', 'GreaterThanOrEqualToThreshold', 1.4],
    [names.estimatedRmse, METRIC.EstimatedRMSERatio, 'Maximum', 'GreaterThanOrEqualToThreshold', 1.4],
    [names.labelCoverage, METRIC.LabelCoverage, 'Minimum', 'LessThanThreshold', 0.3],
  ] as const) {
    const a = alarm(name);
    assert.ok(a, `alarm ${name}`);
    assert.deepEqual(
      {
        namespace: a.namespace,
        dimensions: a.dimensions,
        period: a.period,
        metric: a.metric_name,
        statistic: a.statistic,
        op: a.comparison_operator,
        threshold: a.threshold,
        missing: a.treat_missing_data,
      },
      { ...common, metric, statistic, op, threshold, missing: 'notBreaching' },
      name,
    );
    assert.equal(a.alarm_actions.length, 1);
  }
  // The shipped config's defaults, in the example stack.
  const shipped = Object.values(resources.aws_cloudwatch_metric_alarm as Record<string, Block>).find(
    (a) => a.alarm_name === names.realizedRmse,
  )!;
  assert.equal(shipped.threshold, config.monitoring.quality.rmse_ratio_alert);
});

test(
  'the dashboard draws realized next to estimated RMSE, their ratios to the test RMSE with the thresholds, and ' +
    'label coverage',
  () => {
    const q = { rmse_ratio_warn: 1.15, rmse_ratio_alert: 1.4, min_label_coverage: 0.3 };
    const rs = synthWith({ ...config, monitoring: { ...config.monitoring, quality: q } });
    const body = JSON.parse(
      (Object.values(rs.aws_cloudwatch_dashboard as Record<string, Block>)[0] as Block).dashboard_body,
    );
    const widgets = body.widgets as Block[];
    const byMetrics = (...metrics: string[]) =>
      widgets.find((w) =>
        metrics.every((m) =>
          (w.properties.metrics as unknown[][]).some(
            (row) =>
              row[0] === 'mltk/sap_change' && row[1] === m && row[2] === DIMENSION.Model && row[3] === 'sap_change',
          ),
        ),
      );
    assert.ok(byMetrics(METRIC.RealizedRMSE, METRIC.EstimatedRMSE), 'realized and estimated RMSE on one widget');
    const ratio = byMetrics(METRIC.RealizedRMSERatio, METRIC.EstimatedRMSERatio)!;
    assert.deepEqual(
      ratio.properties.annotations.horizontal.map((h: Block) => h.value),
      [1.15, 1.4],
    );
    const coverage = byMetrics(METRIC.LabelCoverage, METRIC.Bias)!;
    assert.deepEqual(
      coverage.properties.annotations.horizontal.map((h: Block) => h.value),
      [0.3],
    );
    // Widgets never overlap on the dashboard's 24-column grid.
    const cells = new Set<string>();
    for (const w of widgets)
      for (let x = w.x; x < w.x + w.width; x++)
        for (let y = w.y; y < w.y + w.height; y++) {
          assert.ok(!cells.has(`${x},${y}`), `widget "${w.properties.title}" overlaps another at ${x},${y}`);
          cells.add(`${x},${y}`);
        }
  },
);
