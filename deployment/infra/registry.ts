// The target's ECR repository: the image the prediction and monitor Lambdas run.
// Tags are immutable, so a deployed tag always means the same image (push a new tag per commit).
import { Construct } from 'constructs';
import { EcrRepository } from '@cdktf/provider-aws/lib/ecr-repository/index.js';
import { EcrLifecyclePolicy } from '@cdktf/provider-aws/lib/ecr-lifecycle-policy/index.js';

export interface ImageRegistryProps {
  /** Repository name, taken from the target's ECR URI. */
  repositoryName: string;
  /** Images kept; older ones are expired by the lifecycle policy. */
  keepImages: number;
}

export class ImageRegistry extends Construct {
  readonly repositoryName: string;

  constructor(scope: Construct, id: string, props: ImageRegistryProps) {
    super(scope, id);
    const repo = new EcrRepository(this, 'repository', {
      name: props.repositoryName,
      imageTagMutability: 'IMMUTABLE',
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: [{ encryptionType: 'AES256' }],
    });
    this.repositoryName = repo.name;
    new EcrLifecyclePolicy(this, 'lifecycle', {
      repository: repo.name,
      policy: JSON.stringify({
        rules: [
          {
            rulePriority: 1,
            description: `keep the last ${props.keepImages} images`,
            selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: props.keepImages },
            action: { type: 'expire' },
          },
        ],
      }),
    });
  }
}
