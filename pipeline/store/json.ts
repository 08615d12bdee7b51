// JSON manifests in the store: parsed with a zod schema on every read, so a malformed
// manifest is reported with its key instead of surfacing later as a type error, and serialized
// strictly on every write: JSON has no NaN or Infinity (JSON.stringify silently writes null), so a
// non-finite number is refused before it can become a manifest the reader rejects for good.
import { MltkError, zodDetails } from '../errors/index.ts';
import type { ObjectStore } from './types.ts';

export interface JsonParser<T> {
  safeParse(
    v: unknown,
  ):
    | { success: true; data: T }
    | { success: false; error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> } };
}

export class MalformedManifestError extends MltkError {
  constructor(message: string, options?: ErrorOptions) {
    super('INTEGRITY', message, [], options);
  }
}

export function parseJson<T>(text: Buffer | string, schema: JsonParser<T>, where: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(String(text));
  } catch (e) {
    throw new MalformedManifestError(`${where}: malformed manifest (not JSON: ${(e as Error).message})`, {
      cause: e,
    });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const list = zodDetails(parsed.error.issues)
      .map((d) => `${d.field}: ${d.issue}`)
      .join('; ');
    throw new MalformedManifestError(`${where}: malformed manifest (${list})`);
  }
  return parsed.data;
}

export async function readJson<T>(store: ObjectStore, key: string, schema: JsonParser<T>): Promise<T> {
  return parseJson(await store.get(key), schema, `${store.url}/${key}`);
}

/** A manifest's bytes; a non-finite number anywhere in `value` is refused with its path named. */
export function manifestJson(value: unknown, where: string): string {
  const text = JSON.stringify(
    value,
    function (this: unknown, field: string, v: unknown) {
      if (typeof v === 'number' && !Number.isFinite(v)) {
        throw new MltkError(
          'INTERNAL',
          `${where}: not written: "${field}" is ${v}, which JSON cannot hold (record why it is undefined instead)`,
        );
      }
      return v;
    },
    2,
  );
  return `${text}\n`;
}

export async function writeJsonIfAbsent(store: ObjectStore, key: string, value: unknown): Promise<void> {
  await store.putIfAbsent(key, manifestJson(value, `${store.url}/${key}`));
}

/** A manifest that could not be read, reported by the listings that skip it. */
export interface MalformedEntry {
  key: string;
  error: string;
}

/**
 * Reads many manifests (in parallel); a malformed one is reported with its key and reason instead of
 * failing the whole listing. Any other error (a store that cannot be reached) still fails it.
 */
export async function readJsonEach<T>(
  store: ObjectStore,
  keys: string[],
  schema: JsonParser<T>,
): Promise<{ items: T[]; malformed: MalformedEntry[] }> {
  const items: T[] = [];
  const malformed: MalformedEntry[] = [];
  const read = await Promise.all(
    keys.map(async (key): Promise<{ item: T } | MalformedEntry> => {
      try {
        return { item: await readJson(store, key, schema) };
      } catch (e) {
        if (e instanceof MalformedManifestError) return { key, error: e.message };
        throw e;
      }
    }),
  );
  for (const r of read) {
    if ('item' in r) items.push(r.item);
    else malformed.push(r);
  }
  return { items, malformed };
}
