import type { Severity } from './types.ts';

/** A finding before it is tied to its object. */
export interface Issue {
  readonly severity: Severity;
  readonly message: string;
}

/** Collects the issues of one object; `failed` when any is an error. */
export class Issues {
  readonly list: Issue[] = [];

  error(message: string): void {
    this.list.push({ severity: 'error', message });
  }

  warning(message: string): void {
    this.list.push({ severity: 'warning', message });
  }

  note(message: string): void {
    this.list.push({ severity: 'note', message });
  }

  get failed(): boolean {
    return this.list.some((i) => i.severity === 'error');
  }
}

/** A plain object (a YAML mapping), not an array or null. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value as YAML would show it, for messages. */
export function show(value: unknown): string {
  const json = JSON.stringify(value) as string | undefined; // undefined for undefined
  return json ?? String(value);
}
