// The pulse (pulse.c): heartbeats from an announcer to its heirs, sent and
// watched by a thread of the addon. See docs/election.md, "The pulse".
#ifndef MESHLB_PULSE_H
#define MESHLB_PULSE_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

// Adds openPulse, pulseTargets, pulseWatch, pulseRenew, pulseHeard, pulsePort,
// pulseStats and pulseClose to the addon's exports.
napi_status meshlb_pulse_init(napi_env env, napi_value exports);

// SipHash-2-4 of `in` under a 16-byte key.
uint64_t meshlb_siphash24(const uint8_t key[16], const uint8_t* in, size_t len);

#endif
