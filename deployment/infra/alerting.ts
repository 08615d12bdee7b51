// Where failures go: a dead-letter queue for asynchronous invocations that exhausted their
// retries, and the SNS topic every alarm of the target notifies.
import { Construct } from 'constructs';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue/index.js';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic/index.js';

export interface AlertingProps {
  /** Prefix of the queue and topic names, e.g. `mltk-sap_change-dev`. */
  namePrefix: string;
}

export class Alerting extends Construct {
  readonly failureQueueArn: string;
  readonly failureQueueName: string;
  readonly alarmTopicArn: string;

  constructor(scope: Construct, id: string, props: AlertingProps) {
    super(scope, id);
    const dlq = new SqsQueue(this, 'failed-invocations', {
      name: `${props.namePrefix}-failed-invocations`,
      messageRetentionSeconds: 14 * 24 * 3600,
      sqsManagedSseEnabled: true,
    });
    this.failureQueueArn = dlq.arn;
    this.failureQueueName = dlq.name;
    // Not encrypted with the aws/sns key: CloudWatch alarms cannot publish to a topic under an
    // AWS-managed key, and alarm notifications carry no data, only metric names and states.
    const topic = new SnsTopic(this, 'alarms', { name: `${props.namePrefix}-alarms` });
    this.alarmTopicArn = topic.arn;
  }
}
