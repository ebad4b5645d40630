// Decodes an ingest body: one JSON event, a JSON array of events, or NDJSON (one event per line, where a broken
// line rejects that line only).
import type { FieldError } from './contract.ts';

export interface ParsedItem {
  /** Position in the array, or the line number (from 0) in NDJSON. */
  index: number;
  /** The decoded value; absent when the line could not be decoded. */
  value?: unknown;
  /** The item as received, for rejected_events. */
  raw: string;
  /** Why the item could not be decoded. */
  error?: FieldError;
}

export type ParsedBody = { ok: true; items: ParsedItem[] } | { ok: false; message: string };

export function parseBody(raw: string, ndjson: boolean): ParsedBody {
  if (raw.trim() === '') return { ok: false, message: 'the body is empty: send an event, an array of events, or NDJSON' };
  if (ndjson) {
    const items: ParsedItem[] = [];
    raw.split('\n').forEach((line, index) => {
      if (line.trim() === '') return;
      try {
        items.push({ index, value: JSON.parse(line), raw: line });
      } catch (err) {
        items.push({ index, raw: line, error: { path: '', message: `line ${index + 1} is not valid JSON: ${(err as Error).message}` } });
      }
    });
    return { ok: true, items };
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    return { ok: false, message: `the body is not valid JSON: ${(err as Error).message}${looksLikeNdjson(raw) ? ' (one event per line is NDJSON: send it as application/x-ndjson)' : ''}` };
  }
  if (Array.isArray(value)) {
    const texts = elementTexts(raw);
    return { ok: true, items: value.map((v, index) => ({ index, value: v, raw: texts[index]! })) };
  }
  if (typeof value === 'object' && value !== null) return { ok: true, items: [{ index: 0, value, raw }] };
  return { ok: false, message: 'the body must be an event object or an array of events' };
}

/** Whether a body that is not one JSON value has a JSON object on each of its first two lines. */
function looksLikeNdjson(raw: string): boolean {
  const lines = raw.split('\n').filter((l) => l.trim() !== '').slice(0, 2);
  if (lines.length < 2) return false;
  try {
    return lines.every((l) => typeof JSON.parse(l) === 'object');
  } catch {
    return false;
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

/**
 * The text of each element of a JSON array as received (`raw` is a valid JSON array: it was parsed). Cut from the body
 * rather than serialised again, so rejected_events keeps what the sender wrote, and an element nested too deeply for
 * JSON.stringify (a few thousand levels) is kept like any other.
 */
function elementTexts(raw: string): string[] {
  const texts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === QUOTE) {
      // skip the string: its brackets and commas are text
      for (i++; raw.charCodeAt(i) !== QUOTE; i++) if (raw.charCodeAt(i) === BACKSLASH) i++;
    } else if (c === 0x5b || c === 0x7b) {
      if (depth++ === 0) start = i + 1; // [ {
    } else if (c === 0x5d || c === 0x7d) {
      if (--depth === 0 && raw.slice(start, i).trim() !== '') texts.push(raw.slice(start, i).trim()); // ] }
    } else if (c === COMMA && depth === 1) {
      texts.push(raw.slice(start, i).trim());
      start = i + 1;
    }
  }
  return texts;
}
