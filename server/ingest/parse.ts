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
    return { ok: false, message: `the body is not valid JSON: ${(err as Error).message}` };
  }
  if (Array.isArray(value)) return { ok: true, items: value.map((v, index) => ({ index, value: v, raw: JSON.stringify(v) })) };
  if (typeof value === 'object' && value !== null) return { ok: true, items: [{ index: 0, value, raw }] };
  return { ok: false, message: 'the body must be an event object or an array of events' };
}
