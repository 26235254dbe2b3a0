// The packet-socket addon's socket (packet_socket.c: opening, libuv receive,
// sending, lifetime; packet_thread.c: the threaded receive that answers
// ARP/NDP in the addon, answer.c: what it answers). See docs/wire.md.
#ifndef MESHLB_PACKET_SOCKET_H
#define MESHLB_PACKET_SOCKET_H

#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "answer.h"

#define RECV_BUF_BYTES 65536
#define MAX_BATCH 1024
#define MAX_FILTER_INSNS 4096 // BPF_MAXINSNS

enum { KIND_PACKET = 1, KIND_NETLINK = 2 };

typedef struct {
  uv_poll_t poll;
  napi_env env;
  int fd;
  int kind;
  int ifindex;          // packet sockets: the interface bound to
  uint16_t ethertype;   // packet sockets: host byte order
  uint32_t batch;
  int started;          // start() succeeded once
  int polling;          // the uv_poll_t is active
  int closing;          // uv_close() issued: no more callbacks into JS
  int uv_closed;        // uv close callback ran, fd closed
  int finalized;        // the JS external is gone (or never existed)
  int teardown;         // the environment is going away: no more Node-API calls
  napi_ref self;        // strong while started and not closed
  napi_ref on_data;
  napi_ref on_error;
  napi_async_context actx;
  napi_async_cleanup_hook_handle hook;
  unsigned char* buf;
  // Threaded receive (packet_thread.c): a thread reads the socket, answers from
  // `table` and hands every frame to JavaScript through `tsfn`.
  int threaded;
  int efd;                    // wakes the thread to stop
  pthread_t thread;
  int thread_started;
  napi_threadsafe_function tsfn;
  int tsfn_live;              // the tsfn exists until its finalizer ran: `s` must outlive it
  pthread_mutex_t mu;         // guards table
  answer_table_t table;
  uint32_t queued;            // frames handed to the tsfn and not yet delivered (atomic)
  uint32_t queue_drops;       // frames dropped because `queued` was full (atomic)
} sock_t;

// packet_socket.c, shared with packet_thread.c.
void meshlb_free_sock(sock_t* s);
void meshlb_throw_errno(napi_env env, int err, const char* syscall);
napi_value meshlb_errno_error(napi_env env, int err, const char* syscall);
sock_t* meshlb_get_open_sock(napi_env env, napi_value v, const char* syscall);
int meshlb_get_bytes(napi_env env, napi_value v, unsigned char** data, size_t* len, const char* what);
// Sends a whole Ethernet frame out of a packet socket's interface; -1 with errno set on failure.
ssize_t meshlb_packet_sendto(const sock_t* s, const unsigned char* data, size_t len);

// packet_thread.c.
// Starts the thread (s->fd is open, on_data/on_error referenced); 0, or -1 with an exception thrown.
int meshlb_rx_start(napi_env env, sock_t* s);
// Stops and joins the thread and releases the tsfn; idempotent. From the JavaScript thread.
void meshlb_rx_stop(sock_t* s);
// Adds answer(handle, mac, answer, known) and answerFrame(...) to the exports.
napi_status meshlb_answer_init(napi_env env, napi_value exports);

#endif
