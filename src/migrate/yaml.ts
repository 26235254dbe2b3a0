/**
 * Multi-document YAML in and out, through js-yaml. The text is cut into documents
 * here first, so that a document that does not parse is reported with its line and
 * the others are kept, and empty ones (`---` twice, or a trailing `---` with a
 * comment, which kubectl output and hand-written files have) are skipped.
 */
import { dump, loadAll } from 'js-yaml';
import type { Finding } from './types.ts';

/** A document-start (`---`) or document-end (`...`) marker line. */
const MARKER = /^(---|\.\.\.)(\s|$)/;
const CONTENT_AFTER_MARKER = /^---\s+[^\s#]/;

interface Chunk {
  /** 1-based line of the chunk's first line. */
  readonly line: number;
  readonly lines: string[];
}

function chunks(text: string): Chunk[] {
  const out: Chunk[] = [{ line: 1, lines: [] }];
  text.split(/\r?\n/).forEach((line, i) => {
    if (MARKER.test(line)) out.push({ line: i + 1, lines: [] });
    // Keep a `---` line that carries content (`--- {a: 1}`); drop bare markers.
    const current = out.at(-1);
    if (current !== undefined && (!MARKER.test(line) || CONTENT_AFTER_MARKER.test(line)))
      current.lines.push(line);
    else current?.lines.push('');
  });
  return out;
}

const isBlank = (chunk: Chunk): boolean => chunk.lines.every((l) => /^\s*(#.*)?$/.test(l));

const plain = (doc: unknown): unknown =>
  doc === undefined || doc === null ? null : (JSON.parse(JSON.stringify(doc)) as unknown);

/** The result of parsing: the documents, and a finding for each that is not YAML. */
export interface Parsed {
  readonly docs: unknown[];
  readonly findings: Finding[];
}

/** Parses multi-document YAML; a document that does not parse is reported, the others kept. */
export function parseDocuments(text: string, source = 'input'): Parsed {
  const docs: unknown[] = [];
  const findings: Finding[] = [];
  for (const chunk of chunks(text)) {
    if (isBlank(chunk)) continue;
    // Blank lines in front, so that js-yaml's line numbers are the file's.
    const padded = '\n'.repeat(chunk.line - 1) + chunk.lines.join('\n');
    try {
      // Plain data: YAML timestamps become the strings the API server would give.
      docs.push(...loadAll(padded).map(plain));
    } catch (err) {
      const message = err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
      findings.push({
        severity: 'error',
        subject: `${source}:${String(chunk.line)}`,
        message: `not YAML: ${message}`,
      });
    }
  }
  return { docs, findings };
}

/** Writes objects as multi-document YAML (`---` between documents); empty for none. */
export function formatDocuments(objects: readonly object[]): string {
  return objects.map((o) => dump(o, { lineWidth: -1, noRefs: true })).join('---\n');
}
