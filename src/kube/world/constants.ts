/** Annotation on a speaker's own Pod: its libp2p peer ID. */
export const PEER_ID_ANNOTATION = 'meshlb.io/peer-id';

/** Annotation on a speaker's own Pod: its mesh multiaddrs, as a JSON array of strings. */
export const MESH_ADDRS_ANNOTATION = 'meshlb.io/mesh-addrs';

/**
 * Annotation on a speaker's own Pod: the MACs of the interfaces it answers ARP
 * and NDP on, as a JSON array of strings. Another speaker's answer for an IP
 * is then told apart from a foreign host's (a claim race, not a conflict).
 */
export const MACS_ANNOTATION = 'meshlb.io/macs';

/**
 * Annotation on a speaker's own Pod: the names of the interfaces it answers
 * ARP and NDP on, as a JSON array of strings. The controller reports an
 * L2Advertisement interface that no selected node's speaker answers on.
 */
export const INTERFACES_ANNOTATION = 'meshlb.io/interfaces';

/** The label that marks speaker Pods (with {@link SPEAKER_COMPONENT} as its value). */
export const COMPONENT_LABEL = 'app.kubernetes.io/component';
export const SPEAKER_COMPONENT = 'speaker';
/** Label selector of the speaker Pods, as text. */
export const SPEAKER_SELECTOR = `${COMPONENT_LABEL}=${SPEAKER_COMPONENT}`;

/** The label an EndpointSlice carries naming its Service (in the slice's namespace). */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
