// The three stacks of a deploy target, deployed in this order:
//   mltk-domain-<env>  the environment's custom domain, shared by every model (idempotent; any branch may apply it)
//   <branch>-base      ECR repository and buckets: exist before the image is pushed
//   <branch>-service   Lambdas, API, monitor, batch scoring state machine, alarms, dashboard: need the pushed image
// Stacks refer to each other by name (bucket names, domain name), never by cross-stack outputs,
// so each one plans and applies on its own.
import { TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity/index.js';
import type { ModelConfig } from '../../pipeline/config/index.ts';
import { defaultNamespace } from '../../pipeline/monitor/index.ts';
import { servingAlias, type DeployTarget, type Environment } from '../targets.ts';
import type { DeployInputs, StateSettings } from './inputs.ts';
import { useRemoteState } from './state-backend.ts';
import { ApiDomain } from './domain.ts';
import { ImageRegistry } from './registry.ts';
import { Storage } from './storage.ts';
import { Alerting } from './alerting.ts';
import { PredictionService } from './prediction-service.ts';
import { PredictionApi } from './api.ts';
import { DriftMonitor } from './monitoring.ts';
import { ModelAlarms } from './alarms.ts';
import { ModelDashboard } from './dashboard.ts';
import { BatchScoring, batchStateMachine } from './batch-scoring.ts';

export interface StackNames {
  domain: string;
  base: string;
  service: string;
}

/** Stack names of a target, in deploy order (build and push the image between base and service). */
export function stackNames(target: Pick<DeployTarget, 'branch' | 'env'>): StackNames {
  return { domain: `mltk-domain-${target.env}`, base: `${target.branch}-base`, service: `${target.branch}-service` };
}

/** Per-environment knobs that are not model-specific. */
const ENVIRONMENT_SETTINGS: Record<
  Environment,
  { logRetentionDays: number; throttle: { burstLimit: number; rateLimit: number } }
> = {
  dev: { logRetentionDays: 30, throttle: { burstLimit: 20, rateLimit: 10 } },
  prod: { logRetentionDays: 365, throttle: { burstLimit: 200, rateLimit: 100 } },
};

const MONITOR_SCHEDULE = { expression: 'rate(1 hour)', periodS: 3600 } as const;
const KEEP_IMAGES = 30;
const PREDICTIONS_INFREQUENT_ACCESS_DAYS = 30;
const PREDICTIONS_EXPIRE_DAYS = 365;
/** Step Functions redrives an execution for 14 days after it failed: a failed run's plan and parts are kept as long. */
const SCALE_TEMPORARY_DAYS = 14;

function provider(stack: TerraformStack, region: string, tags: Record<string, string>): void {
  new AwsProvider(stack, 'aws', { region, defaultTags: [{ tags: { Project: 'mltk', ManagedBy: 'cdktf', ...tags } }] });
}

export interface DomainStackProps {
  env: Environment;
  domainName: string;
  hostedZone: string;
  state: StateSettings;
}

export class DomainStack extends TerraformStack {
  constructor(scope: Construct, id: string, props: DomainStackProps) {
    super(scope, id);
    provider(this, props.state.region, { Environment: props.env, Stack: id });
    // Keyed by environment and domain, not by branch: every model of the environment applies the same state.
    useRemoteState(this, props.state, `mltk/domain-${props.env}/${props.domainName}.tfstate`);
    new ApiDomain(this, 'domain', { domainName: props.domainName, hostedZone: props.hostedZone });
  }
}

export interface TargetStackProps {
  target: DeployTarget;
  inputs: DeployInputs;
  state: StateSettings;
}

export class BaseStack extends TerraformStack {
  constructor(scope: Construct, id: string, props: TargetStackProps) {
    super(scope, id);
    const { target, inputs, state } = props;
    provider(this, state.region, { Model: target.model, Environment: target.env, Branch: target.branch, Stack: id });
    useRemoteState(this, state, `mltk/${target.branch}/base.tfstate`);
    new ImageRegistry(this, 'registry', { repositoryName: inputs.ecr.repository, keepImages: KEEP_IMAGES });
    new Storage(this, 'storage', {
      buckets: inputs.buckets,
      modelReaders: inputs.modelReaderRoleArn ? [inputs.modelReaderRoleArn] : [],
      predictionsInfrequentAccessDays: PREDICTIONS_INFREQUENT_ACCESS_DAYS,
      predictionsExpireDays: PREDICTIONS_EXPIRE_DAYS,
      scaleTemporaryDays: SCALE_TEMPORARY_DAYS,
    });
  }
}

export interface ServiceStackProps extends TargetStackProps {
  config: ModelConfig;
}

export class ServiceStack extends TerraformStack {
  // the service's constructs wired in one place, one call each, in the order they depend on each other
  // biome-ignore lint/complexity/noExcessiveLinesPerFunction: the reason is the comment above
  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id);
    const { target, inputs, state, config } = props;
    provider(this, state.region, { Model: target.model, Environment: target.env, Branch: target.branch, Stack: id });
    useRemoteState(this, state, `mltk/${target.branch}/service.tfstate`);

    const namePrefix = `mltk-${target.branch}`;
    const settings = ENVIRONMENT_SETTINGS[target.env];
    const metricNamespace = defaultNamespace(target.model);
    const imageUri = `${inputs.ecr.uri}:${inputs.imageTag}`;
    const environment = lambdaEnvironment(target, inputs, config);
    const account = new DataAwsCallerIdentity(this, 'account');

    const alerting = new Alerting(this, 'alerting', { namePrefix });
    // Named before it exists: the predict function starts its executions, and the machine invokes the function.
    const machine = batchStateMachine({ namePrefix, region: state.region, accountId: account.accountId });
    // The monitor first: the data bucket's one notification configuration (the service's) routes labels/ to it.
    const monitor = new DriftMonitor(this, 'monitor', {
      functionName: `${namePrefix}-monitor`,
      imageUri,
      memoryMb: config.serving.memory_mb,
      timeoutS: 900,
      environment,
      buckets: inputs.buckets,
      model: target.model,
      metricNamespace,
      schedule: MONITOR_SCHEDULE.expression,
      accountId: account.accountId,
      failureQueueArn: alerting.failureQueueArn,
      logRetentionDays: settings.logRetentionDays,
    });
    const service = new PredictionService(this, 'prediction', {
      functionName: `${namePrefix}-predict`,
      imageUri,
      memoryMb: config.serving.memory_mb,
      timeoutS: config.serving.timeout_s,
      environment: { ...environment, ...batchEnvironment(config, machine.arn) },
      buckets: inputs.buckets,
      model: target.model,
      batchStateMachineArn: machine.arn,
      accountId: account.accountId,
      dataBucketRoutes: [monitor.labelsRoute],
      failureQueueArn: alerting.failureQueueArn,
      logRetentionDays: settings.logRetentionDays,
    });
    const batch = new BatchScoring(this, 'batch', {
      stateMachine: machine,
      functionArn: service.functionArn,
      itemsBucket: inputs.buckets.predictions,
      maxConcurrency: config.serving.batch.max_concurrency,
      logRetentionDays: settings.logRetentionDays,
    });
    const api = new PredictionApi(this, 'api', {
      apiName: namePrefix,
      functionName: service.functionName,
      functionArn: service.functionArn,
      domainName: inputs.domainName,
      mappingKey: target.model,
      throttle: settings.throttle,
      logRetentionDays: settings.logRetentionDays,
    });
    new ModelAlarms(this, 'alarms', {
      namePrefix,
      model: target.model,
      metricNamespace,
      psiAlert: config.monitoring.psi_alert,
      driftShare: config.monitoring.drift_share,
      rmseRatioAlert: config.monitoring.quality.rmse_ratio_alert,
      minLabelCoverage: config.monitoring.quality.min_label_coverage,
      predictFunctionName: service.functionName,
      predictTimeoutS: config.serving.timeout_s,
      monitorFunctionName: monitor.functionName,
      monitorPeriodS: MONITOR_SCHEDULE.periodS,
      apiId: api.apiId,
      batchStateMachineArn: batch.stateMachineArn,
      failureQueueName: alerting.failureQueueName,
      alarmTopicArn: alerting.alarmTopicArn,
    });
    new ModelDashboard(this, 'dashboard', {
      dashboardName: namePrefix,
      model: target.model,
      metricNamespace,
      region: state.region,
      psiAlert: config.monitoring.psi_alert,
      driftShare: config.monitoring.drift_share,
      quality: config.monitoring.quality,
      predictFunctionName: service.functionName,
      apiId: api.apiId,
      batchStateMachineArn: batch.stateMachineArn,
    });

    const base = `https://${inputs.domainName}/${target.model}`;
    new TerraformOutput(this, 'predict_url', { value: `${base}/predict` });
    new TerraformOutput(this, 'health_url', { value: `${base}/health` });
    new TerraformOutput(this, 'api_endpoint', { value: api.apiEndpoint });
    new TerraformOutput(this, 'alarm_topic_arn', { value: alerting.alarmTopicArn });
  }
}

/** The environment both Lambdas of a target see. */
export function lambdaEnvironment(
  target: DeployTarget,
  inputs: DeployInputs,
  config: ModelConfig,
): Record<string, string> {
  return {
    MLTK_STORE: `s3://${inputs.buckets.model}`,
    MLTK_MODEL: target.model,
    MLTK_ALIAS: servingAlias(target, config),
    MLTK_ALIAS_TTL_S: String(config.serving.alias_ttl_s),
    // The online request limits (config/serving.ts says why they agree).
    MLTK_MAX_BODY_BYTES: String(config.serving.max_body_bytes),
    MLTK_MAX_INSTANCES: String(config.serving.max_instances),
    MLTK_DATA_BUCKET: inputs.buckets.data,
    MLTK_PREDICTIONS_BUCKET: inputs.buckets.predictions,
    MLTK_METRIC_NAMESPACE: defaultNamespace(target.model),
  };
}

/** What the prediction function needs to hand large objects to the batch scoring state machine. */
function batchEnvironment(config: ModelConfig, stateMachineArn: string): Record<string, string> {
  return {
    MLTK_SHARD_BYTES: String(config.serving.batch.shard_bytes),
    MLTK_BATCH_STATE_MACHINE_ARN: stateMachineArn,
  };
}
