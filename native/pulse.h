// The pulse: heartbeats from an announcer to its heirs, sent and watched by a
// thread of the addon (pulse.c: the protocol and the thread; pulse_napi.c: the
// JavaScript API). See docs/election.md, "The pulse".
#ifndef MESHLB_PULSE_H
#define MESHLB_PULSE_H

#include <node_api.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PULSE_FRAME_BYTES 28
#define PULSE_MAX_PEERS 8192    // members whose subscriptions are accepted
#define PULSE_MAX_TARGETS 256   // subscribers pulsed at once
#define PULSE_MAX_WATCHED 256   // announcers watched at once
#define PULSE_RECV_BATCH 64
// An heir subscribes to each announcer it watches this often (and at once when
// it starts watching or hears a silence); a subscription lapses after
// PULSE_SUBSCRIPTION_TTL_MS without renewal: three renewals lost in a row.
#define PULSE_SUBSCRIBE_MS 1000
#define PULSE_SUBSCRIPTION_TTL_MS 3500

// What the thread reports to JavaScript (through the thread-safe function).
enum { EV_HEARD = 1, EV_SILENT = 2 };
typedef struct {
  int kind;
  uint8_t id[8];
  double ago_ms;
} pulse_event_t;

typedef struct {
  uint8_t id[8];
  uint8_t key[16];
  uint64_t sub_seq; // the last subscription accepted from it
  int sub_heard;
} pulse_peer_t;

typedef struct {
  uint8_t id[8];
  uint8_t key[16];
  struct sockaddr_storage addr;
  socklen_t len;
  double expires; // monotonic ms
} pulse_target_t;

typedef struct {
  uint8_t id[8];
  uint8_t key[16];
  double silence_ms;
  double last;  // monotonic ms of the last accepted pulse (its arrival)
  uint64_t seq; // the last accepted seq
  int heard;
  int silent;
  struct sockaddr_storage addr; // where to subscribe (has_addr)
  socklen_t len;
  int has_addr;
  double next_sub;
} pulse_watched_t;

typedef struct {
  napi_env env;
  napi_threadsafe_function tsfn;
  pthread_t thread;
  pthread_mutex_t mu;
  int fd;
  int efd;
  int family;
  int thread_started;
  int stopped;
  // Under mu from here on.
  int closing;
  uint8_t self_id[8];
  double interval_ms;
  double lease_ms;
  double lease_until;
  double next_send;
  uint64_t seq_base; // wall-clock µs at open − monotonic µs at open
  pulse_peer_t* peers;
  int npeers;
  pulse_target_t targets[PULSE_MAX_TARGETS];
  int ntargets;
  pulse_watched_t watched[PULSE_MAX_WATCHED];
  int nwatched;
  uint8_t rbuf[PULSE_RECV_BATCH][64];
  uint8_t cbuf[PULSE_RECV_BATCH][64];
  struct sockaddr_storage nbuf[PULSE_RECV_BATCH];
  double sent, send_errors, received, accepted, bad_size, bad_auth, replayed, unknown, subscriptions, full;
} pulse_t;

// pulse.c
void* meshlb_pulse_run(void* arg);
void meshlb_pulse_drain(pulse_t* p);
double meshlb_pulse_mono_ms(void);
uint64_t meshlb_pulse_mono_us(void);
uint64_t meshlb_siphash24(const uint8_t key[16], const uint8_t* in, size_t len);

// pulse_napi.c: adds openPulse, pulsePeers, pulseWatch, pulseRenew, pulseHeard,
// pulsePort, pulseStats and pulseClose to the addon's exports.
napi_status meshlb_pulse_init(napi_env env, napi_value exports);

#endif
