// `mltk data add … --pin CONFIG`: writes the dataset pin (`dataset.version`) into a config file as a
// text edit — one value replaced or one member inserted — so the file keeps its formatting and key
// order, and the commit's diff is exactly the pin. The result is re-parsed before it
// replaces the file (written to a temp file and renamed: a crash leaves the old file or the new one).
import { randomBytes } from 'node:crypto';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { ConfigError, fileError, quoted } from '../errors/index.ts';
import { parseModelConfig } from './load.ts';

interface Member {
  key: string;
  keyStart: number;
  keyEnd: number;
  valueStart: number;
  valueEnd: number;
}

const WS = /[ \t\n\r]/;

function skipWs(text: string, i: number): number {
  while (i < text.length && WS.test(text[i]!)) i++;
  return i;
}

function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '"') return j + 1;
  }
  return text.length;
}

/** End of the JSON value starting at `i` (the text is known to be valid JSON). */
function valueEnd(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return stringEnd(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text[j];
      if (d === '"') j = stringEnd(text, j) - 1;
      else if (d === '{' || d === '[') depth++;
      else if ((d === '}' || d === ']') && --depth === 0) return j + 1;
    }
    return text.length;
  }
  let j = i;
  while (j < text.length && !/[,}\]\s]/.test(text[j]!)) j++;
  return j;
}

/** The members of the object starting at `start` (`{`), with their text spans. */
function members(text: string, start: number): Member[] {
  const out: Member[] = [];
  let i = skipWs(text, start + 1);
  while (text[i] === '"') {
    const keyEnd = stringEnd(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    const valueStart = skipWs(text, skipWs(text, keyEnd) + 1); // past the ':'
    const end = valueEnd(text, valueStart);
    out.push({ key, keyStart: i, keyEnd, valueStart, valueEnd: end });
    i = skipWs(text, end);
    if (text[i] === ',') i = skipWs(text, i + 1);
  }
  return out;
}

/** JSON.parse keeps the last of duplicate keys; so does the edit. */
const lastOf = (list: Member[], key: string) => list.filter((m) => m.key === key).at(-1);

/** The config text with `dataset.version` set to `version`; everything else byte-identical. */
export function withDatasetPin(text: string, version: string, where: string): string {
  const top = skipWs(text, 0);
  const dataset = text[top] === '{' ? lastOf(members(text, top), 'dataset') : undefined;
  if (!dataset || text[dataset.valueStart] !== '{') throw new ConfigError(`${where}: has no "dataset" object to pin`);
  const inner = members(text, dataset.valueStart);
  const value = JSON.stringify(version);
  const current = lastOf(inner, 'version');
  if (current) return text.slice(0, current.valueStart) + value + text.slice(current.valueEnd);
  const anchor = lastOf(inner, 'name') ?? inner[0];
  if (!anchor)
    return `${text.slice(0, dataset.valueStart + 1)}"version": ${value}${text.slice(dataset.valueStart + 1)}`;
  // The new member copies the anchor's layout: its indentation and its `": "` spacing.
  const indent = text.slice(skipWsBack(text, anchor.keyStart), anchor.keyStart);
  const colon = text.slice(anchor.keyEnd, anchor.valueStart);
  return `${text.slice(0, anchor.valueEnd)},${indent}"version"${colon}${value}${text.slice(anchor.valueEnd)}`;
}

function skipWsBack(text: string, i: number): number {
  while (i > 0 && WS.test(text[i - 1]!)) i--;
  return i;
}

export interface PinResult {
  path: string;
  dataset: string;
  version: string;
  previous: string | null;
  changed: boolean;
}

/**
 * Pins `dataset@version` in the config at `path`. Refused, with nothing written, when the config
 * trains on another dataset or would no longer be valid (e.g. it also names a `dataset.file`).
 */
export async function pinDatasetVersion(path: string, dataset: string, version: string): Promise<PinResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw fileError(e, path, 'model config');
  }
  let before: { dataset?: { name?: unknown; version?: unknown } };
  try {
    before = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path}: not valid JSON (${(e as Error).message}); nothing pinned`, [], { cause: e });
  }
  const config = parseModelConfig(before, path);
  if (config.dataset.name !== dataset) {
    throw new ConfigError(
      `${path}: trains on dataset "${config.dataset.name}", not ${quoted(dataset)}; nothing pinned`,
    );
  }
  const previous = config.dataset.version ?? null;
  if (previous === version) return { path, dataset, version, previous, changed: false };
  const next = withDatasetPin(text, version, path);
  const after = JSON.parse(next) as typeof before;
  const expected = { ...before, dataset: { ...before.dataset, version } };
  // The edit must be exactly the pin: anything else means the scanner misread the file.
  if (!isDeepStrictEqual(after, expected))
    throw new ConfigError(`${path}: could not pin dataset.version by a text edit; nothing pinned`);
  parseModelConfig(after, `${path} (with the pin)`);
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(tmp, next);
    await rename(tmp, path);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  return { path, dataset, version, previous, changed: true };
}
