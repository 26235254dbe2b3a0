/** The API group of meshlb's custom resources. */
export const GROUP = 'meshlb.io';
/** The only served (and stored) version. */
export const VERSION = 'v1alpha1';
/** `apiVersion` of every meshlb object. */
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Plural resource names, as in URLs and RBAC rules. */
export const PLURALS = {
  IPPool: 'ippools',
  L2Advertisement: 'l2advertisements',
  ServiceAnnouncement: 'serviceannouncements',
} as const;

export type Kind = keyof typeof PLURALS;
