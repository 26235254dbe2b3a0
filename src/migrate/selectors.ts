/**
 * Label selectors (metav1.LabelSelector in MetalLB) to meshlb's `LabelSelector`: the
 * same shape, with the limits of meshlb's schema checked here.
 */
import type { LabelSelector, LabelSelectorRequirement } from '../kube/api/index.ts';
import { LIMITS } from './constants.ts';
import { isRecord, show, type Issues } from './issues.ts';

const OPERATORS: ReadonlySet<string> = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist']);

function convertRequirement(
  value: unknown,
  field: string,
  issues: Issues,
): LabelSelectorRequirement | undefined {
  if (!isRecord(value)) {
    issues.error(`${field}: must be a mapping, got ${show(value)}`);
    return undefined;
  }
  const { key, operator, values, ...rest } = value;
  for (const extra of Object.keys(rest)) issues.warning(`${field}.${extra}: unknown field, left out`);
  if (typeof key !== 'string' || key === '' || key.length > LIMITS.labelKeyLength) {
    issues.error(`${field}.key: must be a label key, got ${show(key)}`);
    return undefined;
  }
  if (typeof operator !== 'string' || !OPERATORS.has(operator)) {
    issues.error(`${field}.operator: must be In, NotIn, Exists or DoesNotExist, got ${show(operator)}`);
    return undefined;
  }
  const list = values ?? [];
  if (!Array.isArray(list) || !list.every((v): v is string => typeof v === 'string')) {
    issues.error(`${field}.values: must be a list of strings, got ${show(values)}`);
    return undefined;
  }
  const needsValues = operator === 'In' || operator === 'NotIn';
  if (needsValues !== list.length > 0) {
    issues.error(`${field}: operators In and NotIn need values; Exists and DoesNotExist take none`);
    return undefined;
  }
  if (list.length > LIMITS.values || list.some((v) => v.length > LIMITS.labelValueLength)) {
    issues.error(
      `${field}.values: meshlb takes at most ${String(LIMITS.values)} values of at most ${String(LIMITS.labelValueLength)} characters`,
    );
    return undefined;
  }
  const req: LabelSelectorRequirement = { key, operator: operator as LabelSelectorRequirement['operator'] };
  if (list.length > 0) req.values = list;
  return req;
}

function convertSelector(value: unknown, field: string, issues: Issues): LabelSelector | undefined {
  if (value === null) return {};
  if (!isRecord(value)) {
    issues.error(`${field}: must be a label selector (matchLabels, matchExpressions), got ${show(value)}`);
    return undefined;
  }
  const { matchLabels, matchExpressions, ...rest } = value;
  for (const extra of Object.keys(rest)) issues.warning(`${field}.${extra}: unknown field, left out`);
  const out: LabelSelector = {};
  if (matchLabels !== undefined && matchLabels !== null) {
    if (!isRecord(matchLabels) || !Object.values(matchLabels).every((v) => typeof v === 'string')) {
      issues.error(`${field}.matchLabels: must map label keys to strings, got ${show(matchLabels)}`);
      return undefined;
    }
    const labels = matchLabels as Record<string, string>;
    if (
      Object.keys(labels).length > LIMITS.matchLabels ||
      Object.values(labels).some((v) => v.length > LIMITS.labelValueLength)
    ) {
      issues.error(`${field}.matchLabels: meshlb takes at most ${String(LIMITS.matchLabels)} labels`);
      return undefined;
    }
    if (Object.keys(labels).length > 0) out.matchLabels = { ...labels };
  }
  if (matchExpressions !== undefined && matchExpressions !== null) {
    if (!Array.isArray(matchExpressions)) {
      issues.error(`${field}.matchExpressions: must be a list, got ${show(matchExpressions)}`);
      return undefined;
    }
    if (matchExpressions.length > LIMITS.matchExpressions) {
      issues.error(
        `${field}.matchExpressions: ${String(matchExpressions.length)} requirements, meshlb takes at most ${String(LIMITS.matchExpressions)}`,
      );
      return undefined;
    }
    const reqs: LabelSelectorRequirement[] = [];
    for (const [i, r] of matchExpressions.entries()) {
      const req = convertRequirement(r, `${field}.matchExpressions[${String(i)}]`, issues);
      if (req === undefined) return undefined;
      reqs.push(req);
    }
    if (reqs.length > 0) out.matchExpressions = reqs;
  }
  return out;
}

/**
 * Converts a list of label selectors. Returns undefined when absent or when it cannot be
 * converted (an error is recorded then); an empty list is returned as empty.
 */
export function convertSelectors(value: unknown, field: string, issues: Issues): LabelSelector[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) {
    issues.error(`${field}: must be a list of label selectors, got ${show(value)}`);
    return undefined;
  }
  if (value.length > LIMITS.selectors) {
    issues.error(
      `${field}: ${String(value.length)} selectors, meshlb takes at most ${String(LIMITS.selectors)}`,
    );
    return undefined;
  }
  const out: LabelSelector[] = [];
  for (const [i, s] of value.entries()) {
    const sel = convertSelector(s, `${field}[${String(i)}]`, issues);
    if (sel === undefined) return undefined;
    out.push(sel);
  }
  return out;
}

/**
 * A list of strings, de-duplicated (meshlb's lists are sets: the API server refuses a
 * duplicate). Undefined when absent or not a list of strings (an error is recorded then).
 */
export function convertStringSet(value: unknown, field: string, issues: Issues): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    issues.error(`${field}: must be a list of strings, got ${show(value)}`);
    return undefined;
  }
  const out: string[] = [];
  for (const v of value) {
    if (out.includes(v)) issues.warning(`${field}: ${show(v)} is listed twice, written once`);
    else out.push(v);
  }
  return out;
}
