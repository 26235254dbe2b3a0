// Threaded receive for a packet socket: a thread of the addon blocks on the
// socket, answers at once what the socket's answer table covers (answer.c),
// and hands every frame, answered or not, to JavaScript through a
// thread-safe function, in batches, with `answered` set on those it answered.
//
// Why: the answer to an ARP request or a neighbour solicitation is a
// user-space wake-up away from the client. Through libuv it also waits for
// whatever the event loop is doing (a collection, a mesh message, a timer);
// the thread waits only for a core. JavaScript keeps the table current
// (answer()) and still sees every frame (counters, conflicts, the unusual
// cases), so it answers what the table does not cover, as before.
//
// Lifetime: the thread runs from start() until close() (or the finalizer, or
// the environment's teardown: sock_close() calls meshlb_rx_stop(), which joins
// it). The tsfn's context is the sock_t, so the sock_t is freed only after
// the tsfn's finalizer ran (tsfn_live), besides the conditions in
// packet_socket.c.

#define NAPI_VERSION 8
#include "packet_socket.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

// Frames handed to JavaScript and not yet delivered, at most: beyond it the
// event loop is stuck and new frames are dropped (and counted), not queued
// without bound. The kernel's own receive queue is the usual bound; this one
// is about as deep (4096 small frames).
#define RX_QUEUE_MAX 4096
// The thread's stack: it calls poll, recvfrom, sendto and the answer code.
#define RX_STACK_BYTES (256 * 1024)

typedef struct rx_frame {
  struct rx_frame* next;
  uint32_t len;
  uint8_t pkttype;
  uint8_t answered;
  unsigned char data[];
} rx_frame_t;

// One hand-over to JavaScript: frames read at one wake-up, or an error.
typedef struct {
  rx_frame_t* head;
  uint32_t n;
  int err;
  const char* syscall;
} rx_batch_t;

static void free_batch(rx_batch_t* b) {
  for (rx_frame_t* f = b->head; f != NULL;) {
    rx_frame_t* next = f->next;
    free(f);
    f = next;
  }
  free(b);
}

// ------------------------------------------------------ the JS thread side

static void call_fn(napi_env env, napi_ref ref, size_t argc, napi_value* argv) {
  napi_value fn = NULL, recv;
  if (ref == NULL || napi_get_reference_value(env, ref, &fn) != napi_ok || fn == NULL) return;
  if (napi_get_global(env, &recv) != napi_ok) return;
  if (napi_call_function(env, recv, fn, argc, argv, NULL) != napi_ok) {
    napi_value exc;
    if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) (void)napi_fatal_exception(env, exc);
  }
}

// Delivers `b` in calls of at most s->batch frames. A call may close the
// socket: nothing is delivered after that.
static void deliver_frames(napi_env env, sock_t* s, rx_batch_t* b) {
  rx_frame_t* f = b->head;
  while (f != NULL && !s->closing) {
    napi_value arr, obj, buf, num, flag;
    if (napi_create_array(env, &arr) != napi_ok) return;
    uint32_t n = 0;
    for (; f != NULL && n < s->batch; f = f->next) {
      if (napi_create_object(env, &obj) != napi_ok ||
          napi_create_buffer_copy(env, f->len, f->data, NULL, &buf) != napi_ok ||
          napi_set_named_property(env, obj, "data", buf) != napi_ok ||
          napi_create_uint32(env, f->pkttype, &num) != napi_ok ||
          napi_set_named_property(env, obj, "pktType", num) != napi_ok ||
          napi_get_boolean(env, f->answered != 0, &flag) != napi_ok ||
          napi_set_named_property(env, obj, "answered", flag) != napi_ok ||
          napi_set_element(env, arr, n++, obj) != napi_ok)
        return;
    }
    call_fn(env, s->on_data, 1, &arr);
  }
}

static void rx_call_js(napi_env env, napi_value js_cb, void* context, void* data) {
  (void)js_cb;
  sock_t* s = context;
  rx_batch_t* b = data;
  if (env != NULL && !s->closing) {
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) == napi_ok) {
      if (b->err != 0) {
        napi_value e = meshlb_errno_error(env, b->err, b->syscall);
        if (e != NULL) call_fn(env, s->on_error, 1, &e);
      } else {
        deliver_frames(env, s, b);
      }
      (void)napi_close_handle_scope(env, scope);
    }
  }
  __atomic_sub_fetch(&s->queued, b->n, __ATOMIC_RELAXED);
  free_batch(b);
}

static void rx_tsfn_finalized(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  sock_t* s = data;
  s->tsfn_live = 0;
  if (s->uv_closed && s->finalized) meshlb_free_sock(s);
}

// ------------------------------------------------------- the thread side

// Hands a batch to JavaScript; frees it when the tsfn is closing.
static void hand_over(sock_t* s, rx_batch_t* b) {
  if (napi_call_threadsafe_function(s->tsfn, b, napi_tsfn_nonblocking) != napi_ok) {
    __atomic_sub_fetch(&s->queued, b->n, __ATOMIC_RELAXED);
    free_batch(b);
  }
}

static void hand_over_error(sock_t* s, int err, const char* syscall) {
  rx_batch_t* b = calloc(1, sizeof *b);
  if (b == NULL) return;
  b->err = err;
  b->syscall = syscall;
  hand_over(s, b);
}

// Reads until the socket is empty (or s->batch frames), answering what the
// table covers; returns the number of frames read.
static uint32_t read_frames(sock_t* s) {
  rx_batch_t* b = calloc(1, sizeof *b);
  rx_frame_t** tail = b == NULL ? NULL : &b->head;
  uint8_t reply[ANSWER_MAX_BYTES];
  uint32_t reads = 0;
  if (b == NULL) return 0;
  while (reads < s->batch) {
    struct sockaddr_ll from;
    socklen_t fromlen = sizeof from;
    memset(&from, 0, sizeof from);
    ssize_t r = recvfrom(s->fd, s->buf, RECV_BUF_BYTES, MSG_TRUNC | MSG_DONTWAIT, (struct sockaddr*)&from, &fromlen);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) hand_over_error(s, errno, "recvfrom");
      break;
    }
    reads++;
    size_t len = (size_t)r > RECV_BUF_BYTES ? RECV_BUF_BYTES : (size_t)r;
    pthread_mutex_lock(&s->mu);
    size_t n = meshlb_answer(&s->table, s->buf, len, from.sll_pkttype, reply);
    pthread_mutex_unlock(&s->mu);
    // A failed send is left to JavaScript: it sees the frame unanswered, answers and counts the error.
    int answered = n > 0 && meshlb_packet_sendto(s, reply, n) >= 0;
    if (__atomic_add_fetch(&s->queued, 1, __ATOMIC_RELAXED) > RX_QUEUE_MAX) {
      __atomic_sub_fetch(&s->queued, 1, __ATOMIC_RELAXED);
      __atomic_add_fetch(&s->queue_drops, 1, __ATOMIC_RELAXED);
      continue;
    }
    rx_frame_t* f = malloc(sizeof *f + len);
    if (f == NULL) {
      __atomic_sub_fetch(&s->queued, 1, __ATOMIC_RELAXED);
      __atomic_add_fetch(&s->queue_drops, 1, __ATOMIC_RELAXED);
      continue;
    }
    f->next = NULL;
    f->len = (uint32_t)len;
    f->pkttype = from.sll_pkttype;
    f->answered = (uint8_t)answered;
    memcpy(f->data, s->buf, len);
    *tail = f;
    tail = &f->next;
    b->n++;
  }
  if (b->n > 0) hand_over(s, b);
  else free(b);
  return reads;
}

static void* rx_run(void* arg) {
  sock_t* s = arg;
  for (;;) {
    struct pollfd pfd[2] = {{.fd = s->fd, .events = POLLIN}, {.fd = s->efd, .events = POLLIN}};
    if (poll(pfd, 2, -1) < 0) {
      if (errno == EINTR) continue;
      hand_over_error(s, errno, "poll");
      return NULL;
    }
    if (pfd[1].revents != 0) return NULL; // stop
    short ev = pfd[0].revents;
    int reported = 0;
    if (ev & POLLERR) {
      // ENETDOWN when the interface went down: reading the error clears it.
      int soerr = 0;
      socklen_t sl = sizeof soerr;
      if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) {
        hand_over_error(s, errno, "getsockopt(SO_ERROR)");
        return NULL; // the socket is unusable
      }
      if (soerr != 0) hand_over_error(s, soerr, "recvfrom");
      reported = soerr != 0;
    }
    if (ev & POLLNVAL) return NULL;
    uint32_t got = read_frames(s);
    if (got == 0 && !reported) {
      // Woken with nothing to read and no error (a hang-up): do not spin.
      struct timespec ts = {0, 10 * 1000 * 1000};
      (void)nanosleep(&ts, NULL);
    }
  }
}

int meshlb_rx_start(napi_env env, sock_t* s) {
  napi_value name;
  pthread_attr_t attr;
  if (napi_create_string_utf8(env, "meshlb:PacketThread", NAPI_AUTO_LENGTH, &name) != napi_ok) {
    meshlb_throw_errno(env, ENOMEM, "napi_create_string_utf8");
    return -1;
  }
  s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (s->efd < 0) {
    meshlb_throw_errno(env, errno, "eventfd");
    return -1;
  }
  if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, s, rx_tsfn_finalized, s, rx_call_js,
                                      &s->tsfn) != napi_ok) {
    meshlb_throw_errno(env, ENOMEM, "napi_create_threadsafe_function");
    return -1; // the efd is closed with the socket
  }
  s->tsfn_live = 1;
  int err = pthread_attr_init(&attr);
  if (err == 0) {
    (void)pthread_attr_setstacksize(&attr, RX_STACK_BYTES);
    err = pthread_create(&s->thread, &attr, rx_run, s);
    (void)pthread_attr_destroy(&attr);
  }
  if (err != 0) {
    (void)napi_release_threadsafe_function(s->tsfn, napi_tsfn_abort);
    s->tsfn = NULL;
    meshlb_throw_errno(env, err, "pthread_create");
    return -1;
  }
  s->thread_started = 1;
  return 0;
}

void meshlb_rx_stop(sock_t* s) {
  if (s->thread_started) {
    uint64_t one = 1;
    (void)!write(s->efd, &one, sizeof one);
    (void)pthread_join(s->thread, NULL);
    s->thread_started = 0;
  }
  if (s->tsfn != NULL) (void)napi_release_threadsafe_function(s->tsfn, napi_tsfn_abort);
  s->tsfn = NULL;
}

// ---------------------------------------------------------- the tables

// A table's addresses from a Uint8Array of whole `width`-byte addresses, sorted; 0 with an exception thrown.
static int get_addresses(napi_env env, napi_value v, int width, uint8_t** out, size_t* n, const char* what) {
  unsigned char* data;
  size_t len;
  if (!meshlb_get_bytes(env, v, &data, &len, what)) return 0;
  if (len % (size_t)width != 0 || len / (size_t)width > ANSWER_MAX_ADDRESSES) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must hold at most %d addresses of %d bytes", what, ANSWER_MAX_ADDRESSES, width);
    (void)napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return 0;
  }
  *n = len / (size_t)width;
  *out = NULL;
  if (*n == 0) return 1;
  *out = malloc(len);
  if (*out == NULL) {
    meshlb_throw_errno(env, ENOMEM, "malloc");
    return 0;
  }
  memcpy(*out, data, len);
  *n = meshlb_answer_sort(*out, *n, width);
  return 1;
}

// A table from (mac, width, answer, known) at argv[0..3]; 0 with an exception thrown.
static int get_table(napi_env env, napi_value* argv, int width, answer_table_t* t) {
  unsigned char* mac;
  size_t maclen;
  memset(t, 0, sizeof *t);
  t->width = width;
  if (!meshlb_get_bytes(env, argv[0], &mac, &maclen, "mac")) return 0;
  if (maclen != 6) {
    (void)napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "mac must be 6 bytes");
    return 0;
  }
  memcpy(t->mac, mac, 6);
  if (!get_addresses(env, argv[1], width, &t->answer, &t->nanswer, "answer")) return 0;
  if (!get_addresses(env, argv[2], width, &t->known, &t->nknown, "known")) {
    free(t->answer);
    return 0;
  }
  return 1;
}

// answer(handle, mac: Uint8Array(6), answer: Uint8Array, known: Uint8Array):
// replaces the table of a socket started threaded. Addresses are 4 bytes on
// an ARP socket, 16 on an IPv6 one; an empty `answer` answers nothing.
static napi_value set_answer(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  size_t argc = 4;
  answer_table_t t;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4) {
    (void)napi_throw_type_error(env, "ERR_MISSING_ARGS", "answer(handle, mac, answer, known)");
    return NULL;
  }
  sock_t* s = meshlb_get_open_sock(env, argv[0], "answer");
  if (s == NULL) return NULL;
  if (!s->threaded || (s->ethertype != 0x0806 && s->ethertype != 0x86dd)) {
    meshlb_throw_errno(env, EOPNOTSUPP, "answer");
    return NULL;
  }
  if (!get_table(env, argv + 1, s->ethertype == 0x0806 ? 4 : 16, &t)) return NULL;
  pthread_mutex_lock(&s->mu);
  answer_table_t old = s->table;
  s->table = t;
  pthread_mutex_unlock(&s->mu);
  free(old.answer);
  free(old.known);
  return NULL;
}

// answerFrame(frame, pktType, mac, width: 4 | 16, answer, known) -> Buffer | null:
// what the thread would send for `frame` (the tests hold it to the TypeScript fast paths).
static napi_value answer_frame(napi_env env, napi_callback_info info) {
  napi_value argv[6], result;
  size_t argc = 6;
  unsigned char* frame;
  size_t len;
  uint32_t pkttype, width;
  answer_table_t t;
  uint8_t out[ANSWER_MAX_BYTES];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6) {
    (void)napi_throw_type_error(env, "ERR_MISSING_ARGS", "answerFrame(frame, pktType, mac, width, answer, known)");
    return NULL;
  }
  if (!meshlb_get_bytes(env, argv[0], &frame, &len, "frame")) return NULL;
  if (napi_get_value_uint32(env, argv[1], &pkttype) != napi_ok || napi_get_value_uint32(env, argv[3], &width) != napi_ok ||
      (width != 4 && width != 16)) {
    (void)napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "pktType must be a number, width 4 or 16");
    return NULL;
  }
  napi_value tv[3] = {argv[2], argv[4], argv[5]};
  if (!get_table(env, tv, (int)width, &t)) return NULL;
  size_t n = meshlb_answer(&t, frame, len, (int)pkttype, out);
  free(t.answer);
  free(t.known);
  if (n == 0) {
    if (napi_get_null(env, &result) != napi_ok) return NULL;
    return result;
  }
  if (napi_create_buffer_copy(env, n, out, NULL, &result) != napi_ok) return NULL;
  return result;
}

napi_status meshlb_answer_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"answer", NULL, set_answer, NULL, NULL, NULL, napi_enumerable, NULL},
      {"answerFrame", NULL, answer_frame, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
