// JSON manifests in the store: parsed with a zod schema on every read, so a malformed
// manifest is reported with its key instead of surfacing later as a type error.
import { MltkError, zodDetails } from '../errors/index.ts';
import type { ObjectStore } from './types.ts';

export interface JsonParser<T> {
  safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> } };
}

export class MalformedManifestError extends MltkError {
  constructor(message: string) {
    super('INTEGRITY', message);
  }
}

export function parseJson<T>(text: Buffer | string, schema: JsonParser<T>, where: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(String(text));
  } catch (e) {
    throw new MalformedManifestError(`${where}: malformed manifest (not JSON: ${(e as Error).message})`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const list = zodDetails(parsed.error.issues).map((d) => `${d.field}: ${d.issue}`).join('; ');
    throw new MalformedManifestError(`${where}: malformed manifest (${list})`);
  }
  return parsed.data;
}

export async function readJson<T>(store: ObjectStore, key: string, schema: JsonParser<T>): Promise<T> {
  return parseJson(await store.get(key), schema, `${store.url}/${key}`);
}

export async function writeJsonIfAbsent(store: ObjectStore, key: string, value: unknown): Promise<void> {
  await store.putIfAbsent(key, `${JSON.stringify(value, null, 2)}\n`);
}
