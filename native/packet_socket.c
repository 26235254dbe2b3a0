// meshlb_packet: a small Node-API addon over AF_PACKET raw sockets (Ethernet
// frames for ARP and NDP) and an AF_NETLINK route socket (link and address
// changes). Node-API only (ABI-stable across Node versions), plain C.
//
// A socket is a tagged external wrapping `sock_t`. Receiving goes through
// libuv: a uv_poll_t on the non-blocking fd; on readable, up to `batch`
// datagrams are read and handed to JavaScript in one call.
//
// Lifetime of a sock_t: its memory is freed once both (a) libuv has closed the
// poll handle (the fd is closed in that callback) and (b) the JS external was
// garbage-collected. A started socket holds a strong reference to its own
// external until close(), like a listening server: it cannot be collected
// while it delivers frames. A socket that was never started and is dropped is
// closed by the finalizer. At environment teardown (process exit, worker
// exit) an async cleanup hook closes whatever is still open.
//
// See docs/wire.md.

#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include "packet_socket.h"
#include "pulse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static const napi_type_tag SOCK_TAG = {0x6d6573686c622d70ULL, 0x61636b65742d3031ULL};

// ---------------------------------------------------------------- errors

// Throws a generic error for a failed Node-API call unless one is pending.
static void throw_napi(napi_env env, const char* what) {
  const napi_extended_error_info* info = NULL;
  char msg[256];
  // The last error info must be read before any other Node-API call resets it.
  const char* detail = "unknown Node-API failure";
  if (napi_get_last_error_info(env, &info) == napi_ok && info != NULL && info->error_message != NULL) {
    detail = info->error_message;
  }
  snprintf(msg, sizeof msg, "%s: %s", what, detail);
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && !pending) {
    (void)napi_throw_error(env, "ERR_MESHLB_NAPI", msg);
  }
}

// Evaluates a Node-API call; on failure throws and returns NULL from the caller.
#define NAPI_CALL(env, call)           \
  do {                                 \
    if ((call) != napi_ok) {           \
      throw_napi((env), #call);        \
      return NULL;                     \
    }                                  \
  } while (0)

// Same, for code paths with cleanup: jumps to `fail`.
#define NAPI_CALL_GOTO(env, call)      \
  do {                                 \
    if ((call) != napi_ok) {           \
      throw_napi((env), #call);        \
      goto fail;                       \
    }                                  \
  } while (0)

// An Error with .code = the errno name ('EPERM', 'ENODEV', ...) and .syscall.
napi_value meshlb_errno_error(napi_env env, int err, const char* syscall) {
  char name[64];
  char text[128];
  char msg[256];
  napi_value code, message, error, sys;
  uv_err_name_r(-err, name, sizeof name);
  uv_strerror_r(-err, text, sizeof text);
  snprintf(msg, sizeof msg, "%s failed: %s (%s)", syscall, text, name);
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message) != napi_ok) return NULL;
  if (napi_create_error(env, code, message, &error) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys) != napi_ok) return NULL;
  if (napi_set_named_property(env, error, "syscall", sys) != napi_ok) return NULL;
  return error;
}

void meshlb_throw_errno(napi_env env, int err, const char* syscall) {
  napi_value e = meshlb_errno_error(env, err, syscall);
  if (e != NULL) {
    (void)napi_throw(env, e);
  } else {
    throw_napi(env, syscall);
  }
}

// ------------------------------------------------------------- lifetime

void meshlb_free_sock(sock_t* s) {
  pthread_mutex_destroy(&s->mu);
  free(s->table.answer);
  free(s->table.known);
  free(s->buf);
  free(s);
}

// Drops the references into JS. Only from a JS call (close), never from teardown.
// The async context stays until the handle is closed: close() may be called
// from inside a callback that runs in that context.
static void release_js(sock_t* s) {
  napi_env env = s->env;
  // Failures here leave nothing to report to and nothing else to undo.
  if (s->on_data != NULL) (void)napi_delete_reference(env, s->on_data);
  if (s->on_error != NULL) (void)napi_delete_reference(env, s->on_error);
  if (s->self != NULL) (void)napi_delete_reference(env, s->self);
  s->on_data = s->on_error = s->self = NULL;
}

static void on_uv_closed(uv_handle_t* handle) {
  sock_t* s = (sock_t*)handle->data;
  if (s->fd >= 0) {
    (void)close(s->fd); // on Linux the fd is released even when close() reports an error
    s->fd = -1;
  }
  if (s->efd >= 0) (void)close(s->efd);
  s->efd = -1;
  if (s->actx != NULL && !s->teardown) (void)napi_async_destroy(s->env, s->actx);
  s->actx = NULL;
  s->uv_closed = 1;
  int free_now = s->finalized && !s->tsfn_live; // else the tsfn's finalizer frees
  napi_async_cleanup_hook_handle hook = s->hook;
  s->hook = NULL;
  // Removing the hook may let the environment finalize the external, which
  // then frees `s` (uv_closed is set): `s` must not be touched after this.
  if (free_now) meshlb_free_sock(s);
  if (hook != NULL) (void)napi_remove_async_cleanup_hook(hook);
}

// Idempotent. `from_js`: called from JavaScript (references may be dropped).
static void sock_close(sock_t* s, int from_js) {
  if (s->closing) return;
  s->closing = 1;
  if (s->polling) {
    (void)uv_poll_stop(&s->poll);
    s->polling = 0;
  }
  if (s->threaded) meshlb_rx_stop(s); // joins the thread: nothing reads the fd after this
  if (from_js) release_js(s);
  uv_close((uv_handle_t*)&s->poll, on_uv_closed);
}

// The external was garbage-collected (or the environment is going away).
static void finalize_sock(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  sock_t* s = (sock_t*)data;
  s->finalized = 1;
  if (!s->closing) {
    sock_close(s, 0);
  } else if (s->uv_closed && !s->tsfn_live) {
    meshlb_free_sock(s);
  }
}

static void on_env_teardown(napi_async_cleanup_hook_handle handle, void* arg) {
  (void)handle;
  sock_t* s = (sock_t*)arg;
  s->teardown = 1;
  sock_close(s, 0); // on_uv_closed removes the hook
}

// Wraps an open, bound fd. On failure the fd is closed and an exception is pending.
static napi_value wrap_socket(napi_env env, int fd, int kind, int ifindex, uint16_t ethertype) {
  uv_loop_t* loop = NULL;
  napi_value ext = NULL;
  sock_t* s = calloc(1, sizeof *s);
  unsigned char* buf = malloc(RECV_BUF_BYTES);
  if (s == NULL || buf == NULL) {
    free(s);
    free(buf);
    (void)close(fd);
    meshlb_throw_errno(env, ENOMEM, "malloc");
    return NULL;
  }
  s->buf = buf;
  s->fd = fd;
  s->efd = -1;
  pthread_mutex_init(&s->mu, NULL);
  s->env = env;
  s->kind = kind;
  s->ifindex = ifindex;
  s->ethertype = ethertype;
  s->batch = 64;
  int rc = napi_get_uv_event_loop(env, &loop) == napi_ok ? uv_poll_init(loop, &s->poll, fd) : UV_EINVAL;
  if (rc < 0) {
    (void)close(fd);
    meshlb_free_sock(s);
    meshlb_throw_errno(env, -rc, "uv_poll_init");
    return NULL;
  }
  s->poll.data = s;
  // From here on the uv handle exists: every failure goes through sock_close.
  if (napi_create_external(env, s, finalize_sock, NULL, &ext) != napi_ok) {
    throw_napi(env, "napi_create_external");
    s->finalized = 1; // no external: on_uv_closed frees
    sock_close(s, 0);
    return NULL;
  }
  // Past this point the finalizer owns the cleanup if we fail.
  NAPI_CALL(env, napi_type_tag_object(env, ext, &SOCK_TAG));
  NAPI_CALL(env, napi_add_async_cleanup_hook(env, on_env_teardown, s, &s->hook));
  return ext;
}

// The sock_t behind a handle argument, or NULL with a TypeError thrown.
static sock_t* get_sock(napi_env env, napi_value v) {
  bool ok = false;
  void* data = NULL;
  if (napi_check_object_type_tag(env, v, &SOCK_TAG, &ok) != napi_ok || !ok ||
      napi_get_value_external(env, v, &data) != napi_ok) {
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && !pending) {
      (void)napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "not a meshlb socket handle");
    }
    return NULL;
  }
  return (sock_t*)data;
}

sock_t* meshlb_get_open_sock(napi_env env, napi_value v, const char* syscall) {
  sock_t* s = get_sock(env, v);
  if (s != NULL && s->closing) {
    meshlb_throw_errno(env, EBADF, syscall);
    return NULL;
  }
  return s;
}

// ------------------------------------------------------------ arguments

static napi_value get_args(napi_env env, napi_callback_info info, size_t want, napi_value* argv) {
  size_t argc = want;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < want) {
    (void)napi_throw_type_error(env, "ERR_MISSING_ARGS", "missing arguments");
    return NULL;
  }
  return argv[0];
}

static int get_u32(napi_env env, napi_value v, uint32_t max, uint32_t* out, const char* what) {
  double d = 0;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0 && d <= max) || d != (double)(uint32_t)d) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be an integer within 0…%u", what, max);
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && !pending) {
      (void)napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    }
    return 0;
  }
  *out = (uint32_t)d;
  return 1;
}

// The bytes of a Uint8Array (a Buffer is one), or 0 with a TypeError thrown.
int meshlb_get_bytes(napi_env env, napi_value v, unsigned char** data, size_t* len, const char* what) {
  bool is_ta = false;
  napi_typedarray_type type;
  void* p = NULL;
  if (napi_is_typedarray(env, v, &is_ta) == napi_ok && is_ta &&
      napi_get_typedarray_info(env, v, &type, len, &p, NULL, NULL) == napi_ok && type == napi_uint8_array) {
    *data = (unsigned char*)p;
    return 1;
  }
  char msg[128];
  snprintf(msg, sizeof msg, "%s must be a Uint8Array", what);
  (void)napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return 0;
}

// ------------------------------------------------------- interfaceInfo

// interfaceInfo(name) -> { index, mac: Buffer(6), mtu, flags }
static napi_value interface_info(napi_env env, napi_callback_info info) {
  napi_value argv[1], result, v;
  char name[IFNAMSIZ + 1];
  size_t len = 0;
  struct ifreq ifr;
  int index = 0, mtu = 0;
  unsigned flags = 0;
  unsigned char mac[6] = {0};
  if (get_args(env, info, 1, argv) == NULL) return NULL;
  NAPI_CALL(env, napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len));
  if (len == 0 || len >= IFNAMSIZ || memchr(name, 0, len) != NULL) { // no such name can exist
    meshlb_throw_errno(env, ENODEV, "ioctl(SIOCGIFINDEX)");
    return NULL;
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    meshlb_throw_errno(env, errno, "socket");
    return NULL;
  }
  const char* failed = NULL;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, len + 1);
  if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
    failed = "ioctl(SIOCGIFINDEX)";
  } else {
    index = ifr.ifr_ifindex;
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
      failed = "ioctl(SIOCGIFHWADDR)";
    } else {
      memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
      if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) {
        failed = "ioctl(SIOCGIFMTU)";
      } else {
        mtu = ifr.ifr_mtu;
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
          failed = "ioctl(SIOCGIFFLAGS)";
        } else {
          flags = (unsigned short)ifr.ifr_flags;
        }
      }
    }
  }
  int err = errno;
  (void)close(fd);
  if (failed != NULL) {
    meshlb_throw_errno(env, err, failed);
    return NULL;
  }
  NAPI_CALL(env, napi_create_object(env, &result));
  NAPI_CALL(env, napi_create_int32(env, index, &v));
  NAPI_CALL(env, napi_set_named_property(env, result, "index", v));
  NAPI_CALL(env, napi_create_buffer_copy(env, 6, mac, NULL, &v));
  NAPI_CALL(env, napi_set_named_property(env, result, "mac", v));
  NAPI_CALL(env, napi_create_int32(env, mtu, &v));
  NAPI_CALL(env, napi_set_named_property(env, result, "mtu", v));
  NAPI_CALL(env, napi_create_uint32(env, flags, &v));
  NAPI_CALL(env, napi_set_named_property(env, result, "flags", v));
  return result;
}

// ------------------------------------------------------------- opening

// openPacket(ifindex, ethertype, filter: Uint8Array | null) -> handle
//
// The socket is created with protocol 0, which receives nothing; the filter is
// attached; only then bind() sets the ethertype and the interface. So no frame
// that the filter would reject is ever queued on it.
static napi_value open_packet(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint32_t ifindex, ethertype;
  napi_valuetype ftype;
  unsigned char* filter = NULL;
  size_t flen = 0;
  if (get_args(env, info, 3, argv) == NULL) return NULL;
  if (!get_u32(env, argv[0], INT32_MAX, &ifindex, "ifindex")) return NULL;
  if (!get_u32(env, argv[1], 0xffff, &ethertype, "ethertype")) return NULL;
  NAPI_CALL(env, napi_typeof(env, argv[2], &ftype));
  if (ftype != napi_null && ftype != napi_undefined) {
    if (!meshlb_get_bytes(env, argv[2], &filter, &flen, "filter")) return NULL;
    if (flen == 0 || flen % sizeof(struct sock_filter) != 0 ||
        flen / sizeof(struct sock_filter) > MAX_FILTER_INSNS) {
      (void)napi_throw_range_error(env, "ERR_OUT_OF_RANGE",
                                   "filter must hold 1…4096 sock_filter entries of 8 bytes");
      return NULL;
    }
  }
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    meshlb_throw_errno(env, errno, "socket");
    return NULL;
  }
  if (filter != NULL) {
    struct sock_fprog prog;
    prog.len = (unsigned short)(flen / sizeof(struct sock_filter));
    prog.filter = (struct sock_filter*)filter; // copied by the kernel
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0) {
      int err = errno;
      (void)close(fd);
      meshlb_throw_errno(env, err, "setsockopt(SO_ATTACH_FILTER)");
      return NULL;
    }
  }
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons((uint16_t)ethertype);
  sll.sll_ifindex = (int)ifindex;
  if (bind(fd, (struct sockaddr*)&sll, sizeof sll) < 0) {
    int err = errno;
    (void)close(fd);
    meshlb_throw_errno(env, err, "bind");
    return NULL;
  }
  return wrap_socket(env, fd, KIND_PACKET, (int)ifindex, (uint16_t)ethertype);
}

// openNetlink(groups) -> handle: a NETLINK_ROUTE socket bound to these multicast groups.
static napi_value open_netlink(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint32_t groups;
  if (get_args(env, info, 1, argv) == NULL) return NULL;
  if (!get_u32(env, argv[0], UINT32_MAX, &groups, "groups")) return NULL;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    meshlb_throw_errno(env, errno, "socket");
    return NULL;
  }
  struct sockaddr_nl snl;
  memset(&snl, 0, sizeof snl);
  snl.nl_family = AF_NETLINK;
  snl.nl_groups = groups;
  if (bind(fd, (struct sockaddr*)&snl, sizeof snl) < 0) {
    int err = errno;
    (void)close(fd);
    meshlb_throw_errno(env, err, "bind");
    return NULL;
  }
  return wrap_socket(env, fd, KIND_NETLINK, 0, 0);
}

// ------------------------------------------------------------ receiving

// Calls a JS function from a libuv callback; a throw becomes an uncaught exception.
static void call_js(sock_t* s, napi_ref ref, size_t argc, napi_value* argv) {
  napi_env env = s->env;
  napi_value fn = NULL, recv, result;
  if (ref == NULL || napi_get_reference_value(env, ref, &fn) != napi_ok || fn == NULL) return;
  // napi_make_callback wants an object as the receiver (undefined throws).
  if (napi_get_global(env, &recv) != napi_ok) return;
  if (napi_make_callback(env, s->actx, recv, fn, argc, argv, &result) != napi_ok) {
    napi_value exc;
    if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) (void)napi_fatal_exception(env, exc);
  }
}

static void deliver_error(sock_t* s, int err, const char* syscall) {
  if (s->closing) return;
  napi_value e = meshlb_errno_error(s->env, err, syscall);
  if (e != NULL) call_js(s, s->on_error, 1, &e);
}

// Reads up to `batch` datagrams and delivers them in one call: an array of
// { data, pktType } for packet sockets, of Buffers for netlink sockets.
static void drain(sock_t* s) {
  napi_env env = s->env;
  napi_value arr, buf, obj, num;
  uint32_t n = 0;
  int err = 0;
  if (napi_create_array(env, &arr) != napi_ok) return;
  for (uint32_t reads = 0; reads < s->batch; reads++) {
    union {
      struct sockaddr_ll ll;
      struct sockaddr_nl nl;
    } from;
    socklen_t fromlen = sizeof from;
    memset(&from, 0, sizeof from);
    ssize_t r = recvfrom(s->fd, s->buf, RECV_BUF_BYTES, MSG_TRUNC, (struct sockaddr*)&from, &fromlen);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) err = errno;
      break;
    }
    // MSG_TRUNC: r is the datagram's real length, possibly more than we read.
    size_t len = (size_t)r > RECV_BUF_BYTES ? RECV_BUF_BYTES : (size_t)r;
    if (s->kind == KIND_NETLINK) {
      // Any local process may send to our port: only the kernel (port 0) is believed.
      if (fromlen < sizeof from.nl || from.nl.nl_pid != 0) continue;
      if ((size_t)r > RECV_BUF_BYTES) {
        err = EMSGSIZE;
        break;
      }
      if (napi_create_buffer_copy(env, len, s->buf, NULL, &buf) != napi_ok) break;
      if (napi_set_element(env, arr, n++, buf) != napi_ok) break;
    } else {
      if (napi_create_object(env, &obj) != napi_ok) break;
      if (napi_create_buffer_copy(env, len, s->buf, NULL, &buf) != napi_ok) break;
      if (napi_set_named_property(env, obj, "data", buf) != napi_ok) break;
      if (napi_create_uint32(env, from.ll.sll_pkttype, &num) != napi_ok) break;
      if (napi_set_named_property(env, obj, "pktType", num) != napi_ok) break;
      if (napi_set_element(env, arr, n++, obj) != napi_ok) break;
    }
  }
  if (n > 0) call_js(s, s->on_data, 1, &arr);
  if (err != 0) deliver_error(s, err, "recvfrom");
}

static void on_poll(uv_poll_t* handle, int status, int events) {
  (void)events;
  sock_t* s = (sock_t*)handle->data;
  if (s->closing) return;
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (status < 0) {
    // On POLLERR libuv stops the watcher and reports UV_EBADF. The real cause
    // is the socket's pending error: ENETDOWN when the interface went down,
    // ENOBUFS when a netlink socket overflowed. Reading it clears it.
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    s->polling = 0;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) {
      deliver_error(s, errno, "getsockopt(SO_ERROR)"); // the socket is unusable: stay stopped
      goto done;
    }
    int rc = uv_poll_start(&s->poll, UV_READABLE, on_poll);
    if (rc < 0) {
      deliver_error(s, -rc, "uv_poll_start");
      goto done;
    }
    s->polling = 1;
    if (soerr != 0) deliver_error(s, soerr, "recvfrom");
    if (s->closing) goto done;
  }
  drain(s);
done:
  (void)napi_close_handle_scope(env, scope);
}

// start(handle, onData, onError, batch, threaded?)
//
// threaded: a thread of the addon reads the socket instead of libuv, answers
// what its answer table covers at once (answer(), packet_thread.c) and hands
// every frame to onData, { data, pktType, answered }, on the event loop.
static napi_value start(napi_env env, napi_callback_info info) {
  napi_value argv[5], name;
  napi_valuetype t1, t2, t5;
  uint32_t batch;
  bool threaded = false;
  size_t argc = 5;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) {
    (void)napi_throw_type_error(env, "ERR_MISSING_ARGS", "missing arguments");
    return NULL;
  }
  if (argc >= 5) {
    NAPI_CALL(env, napi_typeof(env, argv[4], &t5));
    if (t5 != napi_undefined) NAPI_CALL(env, napi_get_value_bool(env, argv[4], &threaded));
  }
  sock_t* s = meshlb_get_open_sock(env, argv[0], "start");
  if (s == NULL) return NULL;
  if (s->started) {
    meshlb_throw_errno(env, EALREADY, "start");
    return NULL;
  }
  NAPI_CALL(env, napi_typeof(env, argv[1], &t1));
  NAPI_CALL(env, napi_typeof(env, argv[2], &t2));
  if (t1 != napi_function || t2 != napi_function) {
    (void)napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "onData and onError must be functions");
    return NULL;
  }
  if (!get_u32(env, argv[3], MAX_BATCH, &batch, "batch")) return NULL;
  if (batch == 0) {
    (void)napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "batch must be at least 1");
    return NULL;
  }
  NAPI_CALL_GOTO(env, napi_create_reference(env, argv[1], 1, &s->on_data));
  NAPI_CALL_GOTO(env, napi_create_reference(env, argv[2], 1, &s->on_error));
  NAPI_CALL_GOTO(env, napi_create_reference(env, argv[0], 1, &s->self));
  NAPI_CALL_GOTO(env, napi_create_string_utf8(
                          env, s->kind == KIND_PACKET ? "meshlb:PacketSocket" : "meshlb:NetlinkSocket",
                          NAPI_AUTO_LENGTH, &name));
  NAPI_CALL_GOTO(env, napi_async_init(env, NULL, name, &s->actx));
  s->batch = batch;
  if (threaded) {
    if (s->kind != KIND_PACKET) {
      meshlb_throw_errno(env, EOPNOTSUPP, "start");
      goto fail;
    }
    if (meshlb_rx_start(env, s) < 0) goto fail;
    s->threaded = 1;
  } else {
    int rc = uv_poll_start(&s->poll, UV_READABLE, on_poll);
    if (rc < 0) {
      meshlb_throw_errno(env, -rc, "uv_poll_start");
      goto fail;
    }
    s->polling = 1;
  }
  s->started = 1;
  return NULL;
fail:
  release_js(s);
  if (s->actx != NULL) (void)napi_async_destroy(env, s->actx);
  s->actx = NULL;
  return NULL;
}

// ------------------------------------------------------------- sending

ssize_t meshlb_packet_sendto(const sock_t* s, const unsigned char* data, size_t len) {
  struct sockaddr_ll to;
  ssize_t r;
  memset(&to, 0, sizeof to);
  to.sll_family = AF_PACKET;
  to.sll_ifindex = s->ifindex;
  to.sll_halen = 6;
  if (len >= 14) {
    memcpy(to.sll_addr, data, 6);
    memcpy(&to.sll_protocol, data + 12, 2); // the frame's ethertype, already in network order
  } else {
    to.sll_protocol = htons(s->ethertype);
  }
  do r = sendto(s->fd, data, len, 0, (struct sockaddr*)&to, sizeof to);
  while (r < 0 && errno == EINTR);
  return r;
}

// send(handle, bytes) -> bytes sent. Packet sockets: a whole Ethernet frame,
// out of the bound interface. Netlink sockets: a request to the kernel.
static napi_value send_bytes(napi_env env, napi_callback_info info) {
  napi_value argv[2], result;
  unsigned char* data;
  size_t len;
  ssize_t r;
  if (get_args(env, info, 2, argv) == NULL) return NULL;
  sock_t* s = meshlb_get_open_sock(env, argv[0], "sendto");
  if (s == NULL) return NULL;
  if (!meshlb_get_bytes(env, argv[1], &data, &len, "frame")) return NULL;
  if (s->kind == KIND_PACKET) {
    r = meshlb_packet_sendto(s, data, len);
  } else {
    struct sockaddr_nl to;
    memset(&to, 0, sizeof to);
    to.nl_family = AF_NETLINK;
    do r = sendto(s->fd, data, len, 0, (struct sockaddr*)&to, sizeof to);
    while (r < 0 && errno == EINTR);
  }
  if (r < 0) {
    meshlb_throw_errno(env, errno, "sendto");
    return NULL;
  }
  NAPI_CALL(env, napi_create_uint32(env, (uint32_t)r, &result));
  return result;
}

// ------------------------------------------------------------ the rest

// membership(handle, add: boolean, mac: Uint8Array(6)): PACKET_ADD/DROP_MEMBERSHIP, PACKET_MR_MULTICAST.
static napi_value membership(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  bool add;
  unsigned char* mac;
  size_t len;
  if (get_args(env, info, 3, argv) == NULL) return NULL;
  sock_t* s = meshlb_get_open_sock(env, argv[0], "setsockopt");
  if (s == NULL) return NULL;
  NAPI_CALL(env, napi_get_value_bool(env, argv[1], &add));
  if (!meshlb_get_bytes(env, argv[2], &mac, &len, "mac")) return NULL;
  if (len != 6) {
    (void)napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "mac must be 6 bytes");
    return NULL;
  }
  const char* syscall = add ? "setsockopt(PACKET_ADD_MEMBERSHIP)" : "setsockopt(PACKET_DROP_MEMBERSHIP)";
  if (s->kind != KIND_PACKET) {
    meshlb_throw_errno(env, EOPNOTSUPP, syscall);
    return NULL;
  }
  struct packet_mreq mr;
  memset(&mr, 0, sizeof mr);
  mr.mr_ifindex = s->ifindex;
  mr.mr_type = PACKET_MR_MULTICAST;
  mr.mr_alen = 6;
  memcpy(mr.mr_address, mac, 6);
  if (setsockopt(s->fd, SOL_PACKET, add ? PACKET_ADD_MEMBERSHIP : PACKET_DROP_MEMBERSHIP, &mr, sizeof mr) < 0) {
    meshlb_throw_errno(env, errno, syscall);
    return NULL;
  }
  return NULL;
}

// stats(handle) -> { packets, drops } since the previous call (PACKET_STATISTICS
// resets them). `packets` counts every frame the filter accepted, drops included.
static napi_value stats(napi_env env, napi_callback_info info) {
  napi_value argv[1], result, v;
  struct tpacket_stats st;
  socklen_t len = sizeof st;
  if (get_args(env, info, 1, argv) == NULL) return NULL;
  sock_t* s = meshlb_get_open_sock(env, argv[0], "getsockopt(PACKET_STATISTICS)");
  if (s == NULL) return NULL;
  if (s->kind != KIND_PACKET) {
    meshlb_throw_errno(env, EOPNOTSUPP, "getsockopt(PACKET_STATISTICS)");
    return NULL;
  }
  memset(&st, 0, sizeof st);
  if (getsockopt(s->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) {
    meshlb_throw_errno(env, errno, "getsockopt(PACKET_STATISTICS)");
    return NULL;
  }
  NAPI_CALL(env, napi_create_object(env, &result));
  NAPI_CALL(env, napi_create_uint32(env, st.tp_packets, &v));
  NAPI_CALL(env, napi_set_named_property(env, result, "packets", v));
  // Frames the thread could not hand to JavaScript (its queue full) count as drops too.
  uint32_t queue_drops = __atomic_exchange_n(&s->queue_drops, 0, __ATOMIC_RELAXED);
  NAPI_CALL(env, napi_create_uint32(env, st.tp_drops + queue_drops, &v));
  NAPI_CALL(env, napi_set_named_property(env, result, "drops", v));
  return result;
}

// close(handle): stops delivery at once; the fd is closed on the next loop turn. Idempotent.
static napi_value close_sock(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv) == NULL) return NULL;
  sock_t* s = get_sock(env, argv[0]);
  if (s == NULL) return NULL;
  sock_close(s, 1);
  return NULL;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_property_descriptor props[] = {
      {"interfaceInfo", NULL, interface_info, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openPacket", NULL, open_packet, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openNetlink", NULL, open_netlink, NULL, NULL, NULL, napi_enumerable, NULL},
      {"start", NULL, start, NULL, NULL, NULL, napi_enumerable, NULL},
      {"send", NULL, send_bytes, NULL, NULL, NULL, napi_enumerable, NULL},
      {"membership", NULL, membership, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stats", NULL, stats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, close_sock, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  NAPI_CALL(env, meshlb_answer_init(env, exports));
  NAPI_CALL(env, meshlb_pulse_init(env, exports));
  return exports;
}
