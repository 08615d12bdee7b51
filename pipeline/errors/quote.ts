// How a message shows what it was given. Every message that quotes input (a cell, a header name, a key,
// a path, a URL, an argument) goes through quoted(), so it stays one line and bounded whatever the
// input is: a 50 MB line without a newline, gzip bytes read as text, a cell with an embedded newline.

/** Characters of one input value a message shows; the rest is counted, not shown. */
export const QUOTE_MAX_CHARS = 100;
/** Values a list in a message shows; the rest are counted. */
export const QUOTE_MAX_ITEMS = 10;
/** One issue of an error's details (its `field` is bounded by QUOTE_MAX_CHARS). */
export const DETAIL_MAX_CHARS = 500;
/** A whole message as it leaves the process (stderr, an error document, a manifest's reason, a log line). */
export const MESSAGE_MAX_CHARS = 4_000;

// JSON.stringify escapes C0 controls, quotes and backslashes; these are the other characters that can
// break a line, hide text or reorder it on a terminal (C1 controls, line/paragraph separators, bidi
// and zero-width marks, BOM) or that say "these were not text" (U+FFFD from undecodable bytes).
const INVISIBLE = /[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffd]/g;

function escapeInvisible(s: string): string {
  return s.replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * `value` as a message shows it: JSON-quoted (no raw newline or control byte), invisible characters
 * escaped, at most `max` characters of it followed by how long it really is.
 */
export function quoted(value: string, max = QUOTE_MAX_CHARS): string {
  if (value.length <= max) return escapeInvisible(JSON.stringify(value));
  // A cut inside a surrogate pair leaves half a character, which JSON.stringify escapes as \udXXX.
  return `${escapeInvisible(JSON.stringify(value.slice(0, max))).slice(0, -1)}…" (${value.length} characters)`;
}

/** A JSON value as a message shows it: a string quoted (bounded, escaped), a number as it is, other kinds by name. */
export function shownValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return quoted(v);
  return typeof v === 'object' ? 'an object' : String(v);
}

/** `text` cut to `max` characters, saying how long it was (for a value shown unquoted, e.g. a detail's field). */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

/** Values as a message lists them: each quoted, at most `max` of them, then how many more. */
export function quotedList(values: readonly string[], max = QUOTE_MAX_ITEMS): string {
  const shown = values.slice(0, max).map((v) => quoted(v));
  return values.length > max ? `${shown.join(', ')} and ${values.length - max} more` : shown.join(', ');
}

/**
 * A message as it leaves the process: one line (line breaks escaped) and at most MESSAGE_MAX_CHARS
 * long. Messages built with quoted() already are; this bounds those that quote nothing of ours
 * (a Node or AWS SDK error's own text).
 */
export function messageLine(message: string, max = MESSAGE_MAX_CHARS): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it escapes
  const line = escapeInvisible(message.replace(/[\u0000-\u001f]/g, (c) => JSON.stringify(c).slice(1, -1)));
  return clip(line, max);
}
