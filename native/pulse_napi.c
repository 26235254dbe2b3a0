// The pulse's JavaScript API (pulse.c has the frames and the thread; see the
// comment at its top). A pulse is a tagged external wrapping `pulse_t`; its
// thread runs from openPulse until pulseClose, the external's finalizer or the
// environment's teardown, whichever comes first (stop() is idempotent).

#define NAPI_VERSION 8
#include "pulse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static const napi_type_tag PULSE_TAG = {0x6d6573686c622d70ULL, 0x756c73652d303031ULL};

static void call_js(napi_env env, napi_value js_cb, void* context, void* data) {
  (void)context;
  pulse_event_t* ev = data;
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
  free(p->peers);
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
  int on = 1;
  (void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on); // arrival times (meshlb_pulse_drain)
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
  p->seq_base = (uint64_t)wall.tv_sec * 1000000u + (uint64_t)wall.tv_nsec / 1000u - meshlb_pulse_mono_us();
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
  int err = pthread_create(&p->thread, NULL, meshlb_pulse_run, p);
  if (err != 0) {
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

// pulsePeers(h, [{ id: Uint8Array(8), key: Uint8Array(16) }]): the members whose
// subscriptions are accepted (and pulsed with that key). A member already known
// with the same key keeps its last subscription's seq.
static napi_value pulse_peers(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) return NULL;
  pulse_t* p = get_pulse(env, argv[0]);
  if (p == NULL) return NULL;
  uint32_t n = 0;
  bool is_array = false;
  if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[1], &n) != napi_ok || n > PULSE_MAX_PEERS) {
    type_error(env, "peers must be an array of at most 8192");
    return NULL;
  }
  pulse_peer_t* next = calloc(n == 0 ? 1 : n, sizeof *next);
  if (next == NULL) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    if (napi_get_element(env, argv[1], i, &e) != napi_ok || !get_fixed_bytes(env, e, "id", 8, next[i].id) ||
        !get_fixed_bytes(env, e, "key", 16, next[i].key)) {
      free(next);
      return NULL;
    }
  }
  if (p->stopped) { // closed by a getter while the arguments were read
    free(next);
    return NULL;
  }
  pthread_mutex_lock(&p->mu);
  for (uint32_t i = 0; i < n; i++)
    for (int j = 0; j < p->npeers; j++) {
      pulse_peer_t* old = &p->peers[j];
      if (memcmp(old->id, next[i].id, 8) == 0 && memcmp(old->key, next[i].key, 16) == 0) {
        next[i].sub_seq = old->sub_seq;
        next[i].sub_heard = old->sub_heard;
      }
    }
  pulse_peer_t* prev = p->peers;
  p->peers = next;
  p->npeers = (int)n;
  // A subscriber that is no longer a peer (or has a new key) is not pulsed any more.
  int kept = 0;
  for (int t = 0; t < p->ntargets; t++)
    for (uint32_t i = 0; i < n; i++)
      if (memcmp(p->targets[t].id, next[i].id, 8) == 0 && memcmp(p->targets[t].key, next[i].key, 16) == 0) {
        p->targets[kept++] = p->targets[t];
        break;
      }
  p->ntargets = kept;
  pthread_mutex_unlock(&p->mu);
  free(prev);
  return NULL;
}

// pulseWatch(h, [{ id: Uint8Array(8), key: Uint8Array(16), silenceMs, address?, port? }]):
// the announcers to watch; with an address, this thread subscribes to its pulses.
// An announcer watched before keeps what was heard of it (so its silence is
// still reported); with a new key (a new identity) it starts a new sequence.
static napi_value pulse_watch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) return NULL;
  pulse_t* p = get_pulse(env, argv[0]);
  if (p == NULL) return NULL;
  uint32_t n = 0;
  bool is_array = false;
  if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[1], &n) != napi_ok || n > PULSE_MAX_WATCHED) {
    type_error(env, "watched must be an array of at most 256");
    return NULL;
  }
  pulse_watched_t* next = calloc(n == 0 ? 1 : n, sizeof *next);
  if (next == NULL) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value w, addr;
    bool has = false;
    if (napi_get_element(env, argv[1], i, &w) != napi_ok || !get_fixed_bytes(env, w, "id", 8, next[i].id) ||
        !get_fixed_bytes(env, w, "key", 16, next[i].key) ||
        !get_number(env, w, "silenceMs", 1, 600000, &next[i].silence_ms) ||
        napi_has_named_property(env, w, "address", &has) != napi_ok) {
      free(next);
      return NULL;
    }
    if (has) {
      double port = 0;
      if (!get_number(env, w, "port", 1, 65535, &port) || napi_get_named_property(env, w, "address", &addr) != napi_ok ||
          !parse_addr(env, addr, (uint32_t)port, &next[i].addr, &next[i].len)) {
        free(next);
        return NULL;
      }
      if (next[i].addr.ss_family != p->family) {
        free(next);
        type_error(env, "an announcer's address family differs from the pulse's");
        return NULL;
      }
      next[i].has_addr = 1;
    }
  }
  if (p->stopped) { // closed by a getter while the arguments were read
    free(next);
    return NULL;
  }
  pthread_mutex_lock(&p->mu);
  for (uint32_t i = 0; i < n; i++) {
    for (int j = 0; j < p->nwatched; j++) {
      pulse_watched_t* old = &p->watched[j];
      if (memcmp(old->id, next[i].id, 8) != 0) continue;
      next[i].last = old->last;
      next[i].heard = old->heard;
      next[i].silent = old->silent;
      next[i].next_sub = old->next_sub; // 0 for a new one: subscribe at once
      if (memcmp(old->key, next[i].key, 16) == 0) next[i].seq = old->seq;
      else next[i].next_sub = 0;
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
  int lapsed = meshlb_pulse_mono_ms() >= p->lease_until;
  p->lease_until = meshlb_pulse_mono_ms() + p->lease_ms;
  if (lapsed) p->next_send = meshlb_pulse_mono_ms();
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
  meshlb_pulse_drain(p);
  for (int i = 0; i < p->nwatched; i++)
    if (p->watched[i].heard && memcmp(p->watched[i].id, data, 8) == 0) ago = meshlb_pulse_mono_ms() - p->watched[i].last;
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
  double c[11] = {p->sent,       p->send_errors, p->received, p->accepted,      p->bad_size, p->bad_auth,
                  p->replayed,   p->unknown,     p->subscriptions, (double)p->ntargets, p->full};
  pthread_mutex_unlock(&p->mu);
  const char* names[11] = {"sent",     "sendErrors", "received",      "accepted",    "malformed", "badTag",
                           "replayed", "unknown",    "subscriptions", "subscribers", "full"};
  for (int i = 0; i < 11; i++) set_count(env, out, names[i], c[i]);
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
      {"pulsePeers", NULL, pulse_peers, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pulseWatch", NULL, pulse_watch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pulseRenew", NULL, pulse_renew, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pulseHeard", NULL, pulse_heard, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pulsePort", NULL, pulse_port, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pulseStats", NULL, pulse_stats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pulseClose", NULL, pulse_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
