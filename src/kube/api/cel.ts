/**
 * CEL rules of the schemas (x-kubernetes-validations), kept apart from the schemas
 * because some are long. They use only libraries the 1.34 API server offers to new
 * CRD expressions: Kubernetes' `ip`/`cidr` (1.30+) and cel-go's strings extension
 * (`substring`, `indexOf`); no `cel.bind` (not in the Kubernetes environment), so sub-expressions repeat.
 */
import type { ValidationRule } from './schema.ts';

// The ends of a range by substring, not split('-'): the cost estimator knows the size
// of a substring (at most self's maxLength) but not of split's elements, and takes
// those to be as large as a whole request, which puts the ordering rule 100x over budget.
const A = "self.substring(0, self.indexOf('-'))";
const B = "self.substring(self.indexOf('-') + 1)";
/** `self` is two addresses joined by one `-`. */
const IS_RANGE = `self.indexOf('-') > 0 && self.indexOf('-') == self.lastIndexOf('-') && isIP(${A}) && isIP(${B})`;
const SAME_FAMILY = `ip(${A}).family() == ip(${B}).family()`;

/**
 * The prefix-length suffixes '/0' to '/128' as literals. Not `'/' + string(i)`: the cost
 * estimator takes string(int) to be unbounded. Not a list of ['/i', '/i+1'] pairs: it
 * does not know the size of a nested list's elements either. Both put the rule 100x
 * over budget; a flat list of literals with a two-variable exists (index and element,
 * CEL in Kubernetes 1.32+) passes.
 */
const SUFFIXES = `[${Array.from({ length: 129 }, (_, i) => `'/${i}'`).join(', ')}]`;

/** "The address's bit i is 0": masking it to i+1 bits gives the same address as masking it to i bits. */
const bitIsZero = (addr: string): string =>
  `cidr(${addr} + ${SUFFIXES}[i + 1]).masked().ip() == cidr(${addr} + s).masked().ip()`;

/**
 * a <= b, without integer access to addresses: either they are equal, or at the first
 * bit i where they differ (a's /i network contains b) a has 0 and b has 1.
 */
const IN_ORDER =
  `ip(${A}) == ip(${B}) || ${SUFFIXES}.exists(i, s, i < (ip(${A}).family() == 4 ? 32 : 128) && ` +
  `cidr(${A} + s).containsIP(${B}) && ${bitIsZero(A)} && !(${bitIsZero(B)}))`;

/** Rules on one `IPPool.spec.addresses` entry; src/ip/entry.ts implements the same grammar. */
export const ADDRESS_RULES: readonly ValidationRule[] = [
  {
    rule: `isCIDR(self) || (${IS_RANGE})`,
    message:
      'must be a CIDR (198.51.100.0/24, fd00::/120) or two addresses joined by "-" without spaces ' +
      '(198.51.100.10-198.51.100.20); IPv4 octets without leading zeros, no IPv4-mapped IPv6',
  },
  {
    rule: '!isCIDR(self) || cidr(self) == cidr(self).masked()',
    // A messageExpression naming the network (string(cidr(self).masked())) is refused:
    // the cost estimator takes string() of a CIDR to be unbounded.
    message:
      'bits are set after the prefix length: write the network address (198.51.100.0/24, not 198.51.100.7/24)',
  },
  {
    rule: `!(${IS_RANGE}) || ${SAME_FAMILY}`,
    message: 'both ends of a range must be of one family (IPv4 or IPv6)',
  },
  {
    rule: `!(${IS_RANGE}) || !(${SAME_FAMILY}) || ${IN_ORDER}`,
    message: 'the first address of a range must not be above the last',
  },
];

/** Rules on a network interface name (Linux: at most 15 bytes, no '/', ':' or whitespace, not . or ..). */
export const INTERFACE_RULES: readonly ValidationRule[] = [
  {
    rule: "self.matches('^[^/:\\\\s]+$') && self != '.' && self != '..'",
    message: "an interface name has no '/', ':' or whitespace and is not '.' or '..'",
  },
];

/** Rule on a LabelSelectorRequirement, as the API server checks built-in selectors. */
export const SELECTOR_REQUIREMENT_RULES: readonly ValidationRule[] = [
  {
    rule: "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
    message: 'operators In and NotIn need values; Exists and DoesNotExist take none',
  },
];

/** An L2Advertisement must name what it advertises. */
export const L2ADVERTISEMENT_SPEC_RULES: readonly ValidationRule[] = [
  {
    rule: '(has(self.ipPools) && size(self.ipPools) > 0) || (has(self.ipPoolSelectors) && size(self.ipPoolSelectors) > 0)',
    message:
      'name the pools to advertise in ipPools or ipPoolSelectors (ipPoolSelectors: [{}] selects every pool)',
  },
];

/** An announced address is one address in canonical form. */
export const ANNOUNCED_IP_RULES: readonly ValidationRule[] = [
  {
    rule: 'isIP(self) && ip.isCanonical(self)',
    message: 'must be an IPv4 or IPv6 address in canonical form (198.51.100.10, fd00::a)',
  },
];
