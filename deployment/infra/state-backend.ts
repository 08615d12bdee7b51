// Remote state: one S3 object per stack, locked with S3-native lock files (no DynamoDB table).
import { S3Backend, type TerraformStack } from 'cdktf';
import type { StateSettings } from './inputs.ts';

export function useRemoteState(stack: TerraformStack, state: StateSettings, key: string): S3Backend {
  const backend = new S3Backend(stack, { bucket: state.bucket, region: state.region, key, encrypt: true });
  // cdktf 0.21's S3BackendConfig predates Terraform 1.10's `use_lockfile`.
  backend.addOverride('use_lockfile', true);
  return backend;
}
