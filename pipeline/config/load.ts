// Reads and parses a model config file; the only place a config's JSON is trusted into a type.
import { readFile } from 'node:fs/promises';
import { ConfigError, fileError, zodDetails } from '../errors/index.ts';
import { modelConfigSchema, type ModelConfig } from './schema.ts';

export function parseModelConfig(raw: unknown, source: string): ModelConfig {
  const parsed = modelConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const details = zodDetails(parsed.error.issues);
    const list = details.map((d) => `${d.field}: ${d.issue}`).join('; ');
    throw new ConfigError(`${source}: invalid model config: ${list}`, details);
  }
  return parsed.data;
}

export async function loadModelConfig(path: string): Promise<ModelConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw fileError(e, path, 'model config');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path}: not valid JSON (${(e as Error).message})`, [], { cause: e });
  }
  return parseModelConfig(raw, path);
}
