// Test support: a minimal model version to register (its artifact stored first, as the registry requires).
import { putModelArtifact, type ObjectStore } from '../store/index.ts';
import type { NewModelVersion } from './registry.ts';

export async function versionEntry(store: ObjectStore, name = 'sap_change'): Promise<NewModelVersion> {
  const artifact = await putModelArtifact(store, name, 'onnx bytes');
  return {
    name,
    run_id: null,
    dataset: null,
    trainer: 'gbdt',
    artifact: { ...artifact, format: 'onnx' },
    baseline: null,
    signature: {
      id_column: 'home_id',
      features: [{ name: 'x', type: 'numeric', nullable: false }],
      derived: [],
      target: { column: 'y', unit: 'pts' },
      output: { column: 'pred', unit: 'pts' },
    },
    metrics: { rmse: 1 },
    monitoring: { psi_warn: 0.1, psi_alert: 0.25, drift_share: 0.3 },
    config_sha256: null,
  };
}
