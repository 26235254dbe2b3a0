// The pulse: heartbeats between an announcer and its heirs, sent and watched
// by a thread of this addon, outside Node's event loop (docs/election.md,
// "The pulse").
//
// Why a thread: the heirs' close watch in JavaScript needs a check (a ping and
// its ack, each an event-loop turn on both ends) every few ms to see a silent
// announcer within tens of ms, and that cost was most of an idle speaker's CPU.
// Here an announcer's thread sends a 28-byte UDP datagram to each heir every
// interval, an heir's thread notes when each arrived, and JavaScript hears
// only of changes: an announcer heard for the first time (or again), or one
// silent for longer than its silence threshold. A collection pause or a busy
// event loop on either end delays neither the pulses nor the silence verdict.
//
// A hung event loop must not look alive: pulses go only while a lease that
// JavaScript renews holds (pulseRenew), so a loop stopped for longer than the
// lease falls silent too. SIGSTOP and kill stop the thread with the process.
//
// The frame (28 bytes):
//   "MLP" 0x01 ‖ sender id (8) ‖ seq (u64, big-endian) ‖ tag (8)
// with tag = SipHash-2-4 under the pair's 16-byte key (derived in JavaScript
// from the pair keys of the datagram path: only the two ends can make it) over
// the first 20 bytes. seq is the sender's wall-clock microseconds at its start
// plus monotonic time since: strictly increasing within a process and across
// restarts, so a receiver drops any frame not newer than the last it accepted
// (replay).
//
// Threading: JS calls take the mutex to change targets, the watched set and
// the lease, then wake the thread through an eventfd. The thread takes the
// mutex for its bookkeeping only, never while blocked in poll(); it reports to
// JS through a thread-safe function, without blocking.

#define _GNU_SOURCE // recvmmsg
#define NAPI_VERSION 8
#include "pulse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME_BYTES 28
#define MAX_TARGETS 256
#define MAX_WATCHED 256
#define RECV_BATCH 64

enum { EV_HEARD = 1, EV_SILENT = 2 };

typedef struct {
  struct sockaddr_storage addr;
  socklen_t len;
  uint8_t key[16];
} target_t;

typedef struct {
  uint8_t id[8];
  uint8_t key[16];
  double silence_ms;
  double last;  // monotonic ms of the last accepted frame
  uint64_t seq; // the last accepted seq
  int heard;
  int silent;
} watched_t;

typedef struct {
  int kind;
  uint8_t id[8];
  double ago_ms;
} event_t;

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
  int closing; // under mu
  uint8_t self_id[8];
  double interval_ms;
  double lease_ms;
  double lease_until;
  double next_send;
  uint64_t seq_base; // wall-clock µs at open − monotonic µs at open
  target_t targets[MAX_TARGETS];
  int ntargets;
  watched_t watched[MAX_WATCHED];
  int nwatched;
  // counters, under mu
  double sent, send_errors, received, accepted, bad_size, bad_auth, replayed, unknown;
} pulse_t;

static const napi_type_tag PULSE_TAG = {0x6d6573686c622d70ULL, 0x756c73652d303031ULL};

// ------------------------------------------------------------ SipHash-2-4

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                                     \
  do {                                                                                                               \
    v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                                                        \
    v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                                                           \
    v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                                                           \
    v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                                                        \
  } while (0)

static uint64_t le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

// SipHash-2-4 (Aumasson and Bernstein): a keyed MAC for short inputs.
uint64_t meshlb_siphash24(const uint8_t key[16], const uint8_t* in, size_t len) {
  uint64_t k0 = le64(key), k1 = le64(key + 8);
  uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
  uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
  size_t whole = len - len % 8;
  for (size_t i = 0; i < whole; i += 8) {
    uint64_t m = le64(in + i);
    v3 ^= m;
    SIPROUND;
    SIPROUND;
    v0 ^= m;
  }
  uint64_t b = ((uint64_t)len) << 56;
  for (size_t i = 0; i < len % 8; i++) b |= ((uint64_t)in[whole + i]) << (8 * i);
  v3 ^= b;
  SIPROUND;
  SIPROUND;
  v0 ^= b;
  v2 ^= 0xff;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  return v0 ^ v1 ^ v2 ^ v3;
}

// ------------------------------------------------------------ time, frames

static double mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void put_be64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

static uint64_t get_be64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
  return v;
}

static void put_le64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; i++) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

static const uint8_t MAGIC[4] = {'M', 'L', 'P', 1};

// ------------------------------------------------------------ the thread

static void emit(pulse_t* p, int kind, const uint8_t id[8], double ago) {
  event_t* ev = malloc(sizeof *ev);
  if (ev == NULL) return;
  ev->kind = kind;
  memcpy(ev->id, id, 8);
  ev->ago_ms = ago;
  if (napi_call_threadsafe_function(p->tsfn, ev, napi_tsfn_nonblocking) != napi_ok) free(ev);
}

static void send_all(pulse_t* p, uint64_t seq) {
  uint8_t frame[FRAME_BYTES];
  memcpy(frame, MAGIC, 4);
  memcpy(frame + 4, p->self_id, 8);
  put_be64(frame + 12, seq);
  for (int i = 0; i < p->ntargets; i++) {
    target_t* t = &p->targets[i];
    put_le64(frame + 20, meshlb_siphash24(t->key, frame, 20));
    if (sendto(p->fd, frame, sizeof frame, MSG_DONTWAIT, (struct sockaddr*)&t->addr, t->len) == FRAME_BYTES)
      p->sent++;
    else
      p->send_errors++;
  }
}

// One datagram: accepted when it is a frame, from a watched sender, tagged
// with that sender's key and newer than the last one accepted.
static void take(pulse_t* p, const uint8_t* b, ssize_t n, double now) {
  p->received++;
  if (n != FRAME_BYTES || memcmp(b, MAGIC, 4) != 0) {
    p->bad_size++;
    return;
  }
  for (int i = 0; i < p->nwatched; i++) {
    watched_t* w = &p->watched[i];
    if (memcmp(w->id, b + 4, 8) != 0) continue;
    if (le64(b + 20) != meshlb_siphash24(w->key, b, 20)) {
      p->bad_auth++;
      return;
    }
    uint64_t seq = get_be64(b + 12);
    if (w->heard && seq <= w->seq) {
      p->replayed++;
      return;
    }
    p->accepted++;
    w->seq = seq;
    if (!w->heard || w->silent) emit(p, EV_HEARD, w->id, w->heard ? now - w->last : 0);
    w->heard = 1;
    w->silent = 0;
    w->last = now;
    return;
  }
  p->unknown++;
}

static void* run(void* arg) {
  pulse_t* p = arg;
  uint8_t buf[RECV_BATCH][64];
  for (;;) {
    pthread_mutex_lock(&p->mu);
    if (p->closing) {
      pthread_mutex_unlock(&p->mu);
      break;
    }
    double now = mono_ms();
    double wait = 1000;
    if (p->ntargets > 0 && now < p->lease_until) {
      if (now >= p->next_send) {
        send_all(p, p->seq_base + mono_us());
        // Keep the cadence; after a stall, start again from now.
        p->next_send += p->interval_ms;
        if (p->next_send <= now) p->next_send = now + p->interval_ms;
      }
      double until = p->next_send - now;
      if (until < wait) wait = until;
      double lease = p->lease_until - now;
      if (lease < wait) wait = lease;
    }
    for (int i = 0; i < p->nwatched; i++) {
      watched_t* w = &p->watched[i];
      if (!w->heard || w->silent) continue;
      double quiet = now - w->last;
      if (quiet > w->silence_ms) {
        w->silent = 1;
        emit(p, EV_SILENT, w->id, quiet);
      } else if (w->silence_ms - quiet < wait) {
        wait = w->silence_ms - quiet;
      }
    }
    pthread_mutex_unlock(&p->mu);

    struct pollfd fds[2] = {{.fd = p->fd, .events = POLLIN}, {.fd = p->efd, .events = POLLIN}};
    // Round up: a wait of 0.4 ms must not spin at 0.
    int ms = wait <= 0 ? 0 : (int)wait + 1;
    int r = poll(fds, 2, ms);
    if (r < 0 && errno != EINTR) break;
    if (r <= 0) continue;
    if (fds[1].revents & POLLIN) {
      uint64_t v;
      (void)!read(p->efd, &v, sizeof v);
    }
    if (fds[0].revents & POLLIN) {
      struct mmsghdr msgs[RECV_BATCH];
      struct iovec iov[RECV_BATCH];
      memset(msgs, 0, sizeof msgs);
      for (int i = 0; i < RECV_BATCH; i++) {
        iov[i].iov_base = buf[i];
        iov[i].iov_len = sizeof buf[i];
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      int got = recvmmsg(p->fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
      if (got > 0) {
        double at = mono_ms();
        pthread_mutex_lock(&p->mu);
        for (int i = 0; i < got; i++) take(p, buf[i], (ssize_t)msgs[i].msg_len, at);
        pthread_mutex_unlock(&p->mu);
      }
    }
  }
  return NULL;
}

// ------------------------------------------------------------ JS side

static void call_js(napi_env env, napi_value js_cb, void* context, void* data) {
  (void)context;
  event_t* ev = data;
  if (env != NULL && js_cb != NULL) {
    napi_value argv[3], undef;
    char hex[17];
    for (int i = 0; i < 8; i++) snprintf(hex + 2 * i, 3, "%02x", ev->id[i]);
    if (napi_create_string_utf8(env, ev->kind == EV_HEARD ? "heard" : "silent", NAPI_AUTO_LENGTH, &argv[0]) ==
            napi_ok &&
        napi_create_string_utf8(env, hex, 16, &argv[1]) == napi_ok &&
        napi_create_double(env, ev->ago_ms, &argv[2]) == napi_ok && napi_get_undefined(env, &undef) == napi_ok) {
      (void)napi_call_function(env, undef, js_cb, 3, argv, NULL);
    }
  }
  free(ev);
}

// Stops the thread and closes the sockets; idempotent. The thread-safe
// function is released here too (from the JS thread).
static void stop(pulse_t* p) {
  if (p->stopped) return;
  p->stopped = 1;
  pthread_mutex_lock(&p->mu);
  p->closing = 1;
  pthread_mutex_unlock(&p->mu);
  uint64_t one = 1;
  (void)!write(p->efd, &one, sizeof one);
  if (p->thread_started) pthread_join(p->thread, NULL);
  close(p->fd);
  close(p->efd);
  if (p->tsfn != NULL) (void)napi_release_threadsafe_function(p->tsfn, napi_tsfn_abort);
  p->tsfn = NULL;
}

static void on_teardown(void* arg) { stop(arg); }

static void finalize(napi_env env, void* data, void* hint) {
  (void)hint;
  pulse_t* p = data;
  if (!p->stopped) (void)napi_remove_env_cleanup_hook(env, on_teardown, p);
  stop(p);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

static void wake(pulse_t* p) {
  uint64_t one = 1;
  (void)!write(p->efd, &one, sizeof one);
}

static int throw_errno(napi_env env, int err, const char* syscall) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", syscall, strerror(err));
  napi_value code, text, error;
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text) == napi_ok &&
      napi_create_error(env, NULL, text, &error) == napi_ok) {
    const char* name = err == EADDRINUSE ? "EADDRINUSE" : err == EACCES ? "EACCES" : err == EADDRNOTAVAIL ? "EADDRNOTAVAIL" : "EIO";
    napi_value sc;
    if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) == napi_ok)
      (void)napi_set_named_property(env, error, "code", code);
    if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc) == napi_ok)
      (void)napi_set_named_property(env, error, "syscall", sc);
    (void)napi_throw(env, error);
  }
  return 0;
}

static int type_error(napi_env env, const char* msg) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && !pending)
    (void)napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return 0;
}

// An IPv4 or IPv6 address in text and a port, as a sockaddr.
static int parse_addr(napi_env env, napi_value v, uint32_t port, struct sockaddr_storage* out, socklen_t* len) {
  char text[64];
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, text, sizeof text, &n) != napi_ok || n == 0 || n >= sizeof text - 1)
    return type_error(env, "an address must be an IPv4 or IPv6 address in text");
  memset(out, 0, sizeof *out);
  struct sockaddr_in* a4 = (struct sockaddr_in*)out;
  struct sockaddr_in6* a6 = (struct sockaddr_in6*)out;
  if (inet_pton(AF_INET, text, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *len = sizeof *a4;
    return 1;
  }
  if (inet_pton(AF_INET6, text, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    *len = sizeof *a6;
    return 1;
  }
  return type_error(env, "an address must be an IPv4 or IPv6 address in text");
}

static int get_number(napi_env env, napi_value obj, const char* name, double min, double max, double* out) {
  napi_value v;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok || napi_get_value_double(env, v, out) != napi_ok ||
      !(*out >= min && *out <= max)) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be a number within %g…%g", name, min, max);
    return type_error(env, msg);
  }
  return 1;
}

static int get_fixed_bytes(napi_env env, napi_value obj, const char* name, size_t want, uint8_t* out) {
  napi_value v;
  bool is_ta = false;
  napi_typedarray_type type;
  size_t len = 0;
  void* data = NULL;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok || napi_is_typedarray(env, v, &is_ta) != napi_ok ||
      !is_ta || napi_get_typedarray_info(env, v, &type, &len, &data, NULL, NULL) != napi_ok ||
      type != napi_uint8_array || len != want) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be a Uint8Array of %zu bytes", name, want);
    return type_error(env, msg);
  }
  memcpy(out, data, want);
  return 1;
}

static pulse_t* get_pulse(napi_env env, napi_value v) {
  bool ok = false;
  void* data = NULL;
  if (napi_check_object_type_tag(env, v, &PULSE_TAG, &ok) != napi_ok || !ok ||
      napi_get_value_external(env, v, &data) != napi_ok) {
    type_error(env, "not a pulse handle");
    return NULL;
  }
  pulse_t* p = data;
  if (p->stopped) {
    (void)napi_throw_error(env, "ERR_PULSE_CLOSED", "the pulse is closed");
    return NULL;
  }
  return p;
}

// openPulse({ address, port, id: Uint8Array(8), intervalMs, leaseMs }, onEvent(kind, idHex, agoMs))
static napi_value open_pulse(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result, addr, name;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
    type_error(env, "openPulse(options, onEvent)");
    return NULL;
  }
  double port = 0, interval = 0, lease = 0;
  uint8_t id[8];
  if (!get_number(env, argv[0], "port", 0, 65535, &port) || !get_number(env, argv[0], "intervalMs", 1, 10000, &interval) ||
      !get_number(env, argv[0], "leaseMs", 1, 600000, &lease) || !get_fixed_bytes(env, argv[0], "id", 8, id))
    return NULL;
  struct sockaddr_storage sa;
  socklen_t salen = 0;
  if (napi_get_named_property(env, argv[0], "address", &addr) != napi_ok ||
      !parse_addr(env, addr, (uint32_t)port, &sa, &salen))
    return NULL;
  int fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    throw_errno(env, errno, "socket");
    return NULL;
  }
  if (bind(fd, (struct sockaddr*)&sa, salen) < 0) {
    int err = errno;
    close(fd);
    throw_errno(env, err, "bind");
    return NULL;
  }
  int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) {
    int err = errno;
    close(fd);
    throw_errno(env, err, "eventfd");
    return NULL;
  }
  pulse_t* p = calloc(1, sizeof *p);
  if (p == NULL) {
    close(fd);
    close(efd);
    (void)napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  p->env = env;
  p->fd = fd;
  p->efd = efd;
  p->family = sa.ss_family;
  p->interval_ms = interval;
  p->lease_ms = lease;
  memcpy(p->self_id, id, 8);
  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  p->seq_base = (uint64_t)wall.tv_sec * 1000000u + (uint64_t)wall.tv_nsec / 1000u - mono_us();
  pthread_mutex_init(&p->mu, NULL);
  if (napi_create_string_utf8(env, "meshlb-pulse", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &p->tsfn) != napi_ok ||
      napi_unref_threadsafe_function(env, p->tsfn) != napi_ok) {
    p->stopped = 1;
    close(fd);
    close(efd);
    pthread_mutex_destroy(&p->mu);
    free(p);
    type_error(env, "onEvent must be a function");
    return NULL;
  }
  if (pthread_create(&p->thread, NULL, run, p) != 0) {
    int err = errno;
    stop(p);
    pthread_mutex_destroy(&p->mu);
    free(p);
    throw_errno(env, err, "pthread_create");
    return NULL;
  }
  p->thread_started = 1;
  if (napi_create_external(env, p, finalize, NULL, &result) != napi_ok ||
      napi_type_tag_object(env, result, &PULSE_TAG) != napi_ok) {
    stop(p);
    pthread_mutex_destroy(&p->mu);
    free(p);
    return NULL;
  }
  (void)napi_add_env_cleanup_hook(env, on_teardown, p);
  return result;
}

// pulseTargets(h, [{ address, port, key: Uint8Array(16) }]): whom to pulse.
static napi_value pulse_targets(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) return NULL;
  pulse_t* p = get_pulse(env, argv[0]);
  if (p == NULL) return NULL;
  uint32_t n = 0;
  bool is_array = false;
  if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[1], &n) != napi_ok || n > MAX_TARGETS) {
    type_error(env, "targets must be an array of at most 256");
    return NULL;
  }
  target_t* next = calloc(n == 0 ? 1 : n, sizeof *next);
  if (next == NULL) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value t, addr;
    double port = 0;
    if (napi_get_element(env, argv[1], i, &t) != napi_ok || !get_number(env, t, "port", 1, 65535, &port) ||
        !get_fixed_bytes(env, t, "key", 16, next[i].key) || napi_get_named_property(env, t, "address", &addr) != napi_ok ||
        !parse_addr(env, addr, (uint32_t)port, &next[i].addr, &next[i].len)) {
      free(next);
      return NULL;
    }
  }
  pthread_mutex_lock(&p->mu);
  memcpy(p->targets, next, n * sizeof *next);
  int was = p->ntargets;
  p->ntargets = (int)n;
  if (was == 0 && n > 0) p->next_send = mono_ms(); // the first pulse goes now
  pthread_mutex_unlock(&p->mu);
  free(next);
  wake(p);
  return NULL;
}

// pulseWatch(h, [{ id: Uint8Array(8), key: Uint8Array(16), silenceMs }]): whom to
// watch. A sender already watched with the same key keeps what was heard of it.
static napi_value pulse_watch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) return NULL;
  pulse_t* p = get_pulse(env, argv[0]);
  if (p == NULL) return NULL;
  uint32_t n = 0;
  bool is_array = false;
  if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[1], &n) != napi_ok || n > MAX_WATCHED) {
    type_error(env, "watched must be an array of at most 256");
    return NULL;
  }
  watched_t* next = calloc(n == 0 ? 1 : n, sizeof *next);
  if (next == NULL) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value w;
    if (napi_get_element(env, argv[1], i, &w) != napi_ok || !get_fixed_bytes(env, w, "id", 8, next[i].id) ||
        !get_fixed_bytes(env, w, "key", 16, next[i].key) ||
        !get_number(env, w, "silenceMs", 1, 600000, &next[i].silence_ms)) {
      free(next);
      return NULL;
    }
  }
  pthread_mutex_lock(&p->mu);
  for (uint32_t i = 0; i < n; i++) {
    for (int j = 0; j < p->nwatched; j++) {
      watched_t* old = &p->watched[j];
      if (memcmp(old->id, next[i].id, 8) == 0 && memcmp(old->key, next[i].key, 16) == 0) {
        next[i].last = old->last;
        next[i].seq = old->seq;
        next[i].heard = old->heard;
        next[i].silent = old->silent;
      }
    }
  }
  memcpy(p->watched, next, n * sizeof *next);
  p->nwatched = (int)n;
  pthread_mutex_unlock(&p->mu);
  free(next);
  wake(p);
  return NULL;
}

// pulseRenew(h): pulses may go for leaseMs more.
static napi_value pulse_renew(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return NULL;
  pulse_t* p = get_pulse(env, argv[0]);
  if (p == NULL) return NULL;
  pthread_mutex_lock(&p->mu);
  int lapsed = mono_ms() >= p->lease_until;
  p->lease_until = mono_ms() + p->lease_ms;
  if (lapsed) p->next_send = mono_ms();
  pthread_mutex_unlock(&p->mu);
  if (lapsed) wake(p);
  return NULL;
}

// pulseHeard(h, id: Uint8Array(8)) -> ms since its last accepted frame, or -1 if none.
static napi_value pulse_heard(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) return NULL;
  pulse_t* p = get_pulse(env, argv[0]);
  if (p == NULL) return NULL;
  bool is_ta = false;
  napi_typedarray_type type;
  size_t len = 0;
  void* data = NULL;
  if (napi_is_typedarray(env, argv[1], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, argv[1], &type, &len, &data, NULL, NULL) != napi_ok || type != napi_uint8_array ||
      len != 8) {
    type_error(env, "id must be a Uint8Array of 8 bytes");
    return NULL;
  }
  double ago = -1;
  pthread_mutex_lock(&p->mu);
  for (int i = 0; i < p->nwatched; i++)
    if (p->watched[i].heard && memcmp(p->watched[i].id, data, 8) == 0) ago = mono_ms() - p->watched[i].last;
  pthread_mutex_unlock(&p->mu);
  (void)napi_create_double(env, ago, &result);
  return result;
}

static void set_count(napi_env env, napi_value obj, const char* name, double v) {
  napi_value n;
  if (napi_create_double(env, v, &n) == napi_ok) (void)napi_set_named_property(env, obj, name, n);
}

// pulsePort(h) -> the local UDP port (useful after binding port 0).
static napi_value pulse_port(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return NULL;
  pulse_t* p = get_pulse(env, argv[0]);
  if (p == NULL) return NULL;
  struct sockaddr_storage sa;
  socklen_t len = sizeof sa;
  if (getsockname(p->fd, (struct sockaddr*)&sa, &len) < 0) {
    throw_errno(env, errno, "getsockname");
    return NULL;
  }
  uint16_t port = sa.ss_family == AF_INET ? ((struct sockaddr_in*)&sa)->sin_port : ((struct sockaddr_in6*)&sa)->sin6_port;
  (void)napi_create_uint32(env, ntohs(port), &out);
  return out;
}

// pulseStats(h) -> counts since open.
static napi_value pulse_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return NULL;
  pulse_t* p = get_pulse(env, argv[0]);
  if (p == NULL || napi_create_object(env, &out) != napi_ok) return NULL;
  pthread_mutex_lock(&p->mu);
  double c[8] = {p->sent, p->send_errors, p->received, p->accepted, p->bad_size, p->bad_auth, p->replayed, p->unknown};
  pthread_mutex_unlock(&p->mu);
  const char* names[8] = {"sent", "sendErrors", "received", "accepted", "malformed", "badTag", "replayed", "unknown"};
  for (int i = 0; i < 8; i++) set_count(env, out, names[i], c[i]);
  return out;
}

// pulseClose(h): stops the thread and closes the socket; idempotent.
static napi_value pulse_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void* data = NULL;
  bool ok = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_check_object_type_tag(env, argv[0], &PULSE_TAG, &ok) != napi_ok || !ok ||
      napi_get_value_external(env, argv[0], &data) != napi_ok) {
    type_error(env, "not a pulse handle");
    return NULL;
  }
  pulse_t* p = data;
  if (!p->stopped) (void)napi_remove_env_cleanup_hook(env, on_teardown, p);
  stop(p);
  return NULL;
}

napi_status meshlb_pulse_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"openPulse", NULL, open_pulse, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pulseTargets", NULL, pulse_targets, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pulseWatch", NULL, pulse_watch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pulseRenew", NULL, pulse_renew, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pulseHeard", NULL, pulse_heard, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pulsePort", NULL, pulse_port, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pulseStats", NULL, pulse_stats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pulseClose", NULL, pulse_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
