/**
 * A watch response is one JSON event per line: {"type": "ADDED" | "MODIFIED"
 * | "DELETED" | "BOOKMARK" | "ERROR", "object": {...}}. WatchLines turns the
 * stream's text chunks (split anywhere) into events. Pure; fuzzed
 * (test/unit/kube-client.test.ts): any input yields events or a
 * WatchDecodeError, nothing else.
 */
import { WatchDecodeError } from './errors.ts';

export const WATCH_EVENT_TYPES = ['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR'] as const;
export type WatchEventType = (typeof WATCH_EVENT_TYPES)[number];

export interface WatchEvent {
  type: WatchEventType;
  /** The object (for ERROR, a Status). */
  object: Record<string, unknown>;
}

/** The longest line accepted (an object larger than this is not a Service, Node or EndpointSlice we can use). */
export const MAX_WATCH_LINE = 16 * 2 ** 20;

export function parseWatchLine(line: string): WatchEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new WatchDecodeError(`watch line is not JSON: ${line.slice(0, 80)}`);
  }
  const e = parsed as { type?: unknown; object?: unknown };
  if (typeof parsed !== 'object' || parsed === null || !WATCH_EVENT_TYPES.includes(e.type as WatchEventType))
    throw new WatchDecodeError(`watch line has no known type: ${line.slice(0, 80)}`);
  if (typeof e.object !== 'object' || e.object === null || Array.isArray(e.object))
    throw new WatchDecodeError(`watch event ${String(e.type)} has no object`);
  return { type: e.type as WatchEventType, object: e.object as Record<string, unknown> };
}

export class WatchLines {
  #buffer = '';

  /** Delivers the events this chunk completes, in order. Throws WatchDecodeError at a bad line (those before it are delivered). */
  push(chunk: string, deliver: (e: WatchEvent) => void): void {
    this.#buffer += chunk;
    let nl: number;
    while ((nl = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, nl).trim();
      this.#buffer = this.#buffer.slice(nl + 1);
      if (line !== '') deliver(parseWatchLine(line));
    }
    if (this.#buffer.length > MAX_WATCH_LINE)
      throw new WatchDecodeError(`watch line longer than ${MAX_WATCH_LINE} bytes`);
  }

  /** At the end of the stream: the last line, if it had no newline. */
  end(deliver: (e: WatchEvent) => void): void {
    const rest = this.#buffer.trim();
    this.#buffer = '';
    if (rest !== '') deliver(parseWatchLine(rest));
  }
}
