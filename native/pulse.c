// The pulse: heartbeats between an announcer and its heirs, sent and watched
// by a thread of this addon, outside Node's event loop (docs/election.md,
// "The pulse"). This file: the frames and the thread; pulse_napi.c: the API.
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
// Who is pulsed is the heirs' decision: each subscribes to the announcers it
// watches (at once, then every PULSE_SUBSCRIBE_MS, and again on a silence),
// and an announcer pulses whoever subscribed within PULSE_SUBSCRIPTION_TTL_MS,
// at the address the subscription came from. Views of who is whose heir
// differ for a while after every change; the heir's is the one that matters.
//
// A hung event loop must not look alive: pulses go only while a lease that
// JavaScript renews holds (pulseRenew), so a loop stopped for longer than the
// lease falls silent too. SIGSTOP and kill stop the thread with the process.
//
// Frames (28 bytes): "MLP" type ‖ sender id (8) ‖ seq (u64, big-endian) ‖ tag (8)
// type 1: a pulse (announcer → heir); type 2: a subscription (heir → announcer).
// tag = SipHash-2-4 under the pair's 16-byte key (derived in JavaScript from
// the pair keys of the datagram path: only the two ends can make it) over the
// first 20 bytes. seq is the sender's wall-clock microseconds at its start
// plus monotonic time since: strictly increasing within a process and across
// restarts, so a receiver drops any frame not newer than the last it accepted
// from that sender (replay).
//
// Threading: JS calls take the mutex to change peers, the watched set and the
// lease, then wake the thread through an eventfd. The thread takes the mutex
// for its bookkeeping only, never while blocked in poll(); it reports to JS
// through a thread-safe function, without blocking.

#define _GNU_SOURCE // recvmmsg
#define NAPI_VERSION 8
#include "pulse.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { FRAME_PULSE = 1, FRAME_SUBSCRIBE = 2 };

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

double meshlb_pulse_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

uint64_t meshlb_pulse_mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t get_be64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
  return v;
}

// Builds a frame of `type` from this node under `key`.
static void frame(pulse_t* p, uint8_t out[PULSE_FRAME_BYTES], int type, const uint8_t key[16]) {
  uint64_t seq = p->seq_base + meshlb_pulse_mono_us();
  out[0] = 'M';
  out[1] = 'L';
  out[2] = 'P';
  out[3] = (uint8_t)type;
  memcpy(out + 4, p->self_id, 8);
  for (int i = 0; i < 8; i++) out[12 + i] = (uint8_t)(seq >> (56 - 8 * i));
  uint64_t tag = meshlb_siphash24(key, out, 20);
  for (int i = 0; i < 8; i++) out[20 + i] = (uint8_t)(tag >> (8 * i));
}

static void send_to(pulse_t* p, const uint8_t* f, const struct sockaddr_storage* addr, socklen_t len) {
  if (sendto(p->fd, f, PULSE_FRAME_BYTES, MSG_DONTWAIT, (const struct sockaddr*)addr, len) == PULSE_FRAME_BYTES)
    p->sent++;
  else
    p->send_errors++;
}

static void emit(pulse_t* p, int kind, const uint8_t id[8], double ago) {
  pulse_event_t* ev = malloc(sizeof *ev);
  if (ev == NULL) return;
  ev->kind = kind;
  memcpy(ev->id, id, 8);
  ev->ago_ms = ago;
  if (napi_call_threadsafe_function(p->tsfn, ev, napi_tsfn_nonblocking) != napi_ok) free(ev);
}

static void subscribe(pulse_t* p, pulse_watched_t* w, double now) {
  if (!w->has_addr) return;
  uint8_t f[PULSE_FRAME_BYTES];
  frame(p, f, FRAME_SUBSCRIBE, w->key);
  send_to(p, f, &w->addr, w->len);
  w->next_sub = now + PULSE_SUBSCRIBE_MS;
}

// A pulse from a watched announcer.
static void take_pulse(pulse_t* p, const uint8_t* b, double at) {
  for (int i = 0; i < p->nwatched; i++) {
    pulse_watched_t* w = &p->watched[i];
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
    if (!w->heard || w->silent) emit(p, EV_HEARD, w->id, w->heard ? at - w->last : 0);
    w->heard = 1;
    w->silent = 0;
    if (at > w->last) w->last = at;
    return;
  }
  p->unknown++;
}

// A subscription from a member: pulse it at the address it came from.
static void take_subscription(pulse_t* p, const uint8_t* b, const struct sockaddr_storage* from, socklen_t len,
                              double at) {
  for (int i = 0; i < p->npeers; i++) {
    pulse_peer_t* peer = &p->peers[i];
    if (memcmp(peer->id, b + 4, 8) != 0) continue;
    if (le64(b + 20) != meshlb_siphash24(peer->key, b, 20)) {
      p->bad_auth++;
      return;
    }
    uint64_t seq = get_be64(b + 12);
    if (peer->sub_heard && seq <= peer->sub_seq) {
      p->replayed++;
      return;
    }
    peer->sub_seq = seq;
    peer->sub_heard = 1;
    p->subscriptions++;
    pulse_target_t* t = NULL;
    for (int j = 0; j < p->ntargets && t == NULL; j++)
      if (memcmp(p->targets[j].id, peer->id, 8) == 0) t = &p->targets[j];
    if (t == NULL) {
      if (p->ntargets == PULSE_MAX_TARGETS) {
        p->full++;
        return;
      }
      t = &p->targets[p->ntargets++];
      memcpy(t->id, peer->id, 8);
      if (p->ntargets == 1) p->next_send = at; // the first pulse goes now
    }
    memcpy(t->key, peer->key, 16);
    memcpy(&t->addr, from, sizeof t->addr);
    t->len = len;
    t->expires = at + PULSE_SUBSCRIPTION_TTL_MS;
    return;
  }
  p->unknown++;
}

static void take(pulse_t* p, const uint8_t* b, ssize_t n, const struct sockaddr_storage* from, socklen_t len,
                 double at) {
  p->received++;
  if (n != PULSE_FRAME_BYTES || b[0] != 'M' || b[1] != 'L' || b[2] != 'P' ||
      (b[3] != FRAME_PULSE && b[3] != FRAME_SUBSCRIBE)) {
    p->bad_size++;
    return;
  }
  if (b[3] == FRAME_PULSE)
    take_pulse(p, b, at);
  else
    take_subscription(p, b, from, len, at);
}

// Reads every datagram queued on the socket (mu held), each timed by its
// arrival in the kernel (SO_TIMESTAMPNS), not by when this thread got to it:
// a thread (or process) starved of CPU for a while then reads pulses that
// arrived meanwhile as arriving then, and judges no silence that was not one.
// Called before every judgement: by the thread before it looks for silences,
// and by pulseHeard before it answers.
void meshlb_pulse_drain(pulse_t* p) {
  for (int round = 0; round < 64; round++) {
    struct mmsghdr msgs[PULSE_RECV_BATCH];
    struct iovec iov[PULSE_RECV_BATCH];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < PULSE_RECV_BATCH; i++) {
      iov[i].iov_base = p->rbuf[i];
      iov[i].iov_len = sizeof p->rbuf[i];
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &p->nbuf[i];
      msgs[i].msg_hdr.msg_namelen = sizeof p->nbuf[i];
      msgs[i].msg_hdr.msg_control = p->cbuf[i];
      msgs[i].msg_hdr.msg_controllen = sizeof p->cbuf[i];
    }
    int got = recvmmsg(p->fd, msgs, PULSE_RECV_BATCH, MSG_DONTWAIT, NULL);
    if (got <= 0) return;
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    double mono = meshlb_pulse_mono_ms();
    double real = (double)wall.tv_sec * 1e3 + (double)wall.tv_nsec / 1e6;
    for (int i = 0; i < got; i++) {
      double at = mono;
      for (struct cmsghdr* c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c != NULL; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
          struct timespec ts;
          memcpy(&ts, CMSG_DATA(c), sizeof ts);
          double age = real - ((double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6);
          if (age > 0 && age < 60000) at = mono - age;
        }
      }
      take(p, p->rbuf[i], (ssize_t)msgs[i].msg_len, &p->nbuf[i], msgs[i].msg_hdr.msg_namelen, at);
    }
    if (got < PULSE_RECV_BATCH) return;
  }
}

// One turn (mu held): pulses due, subscriptions due, silences; returns how
// long the thread may sleep.
static double turn(pulse_t* p, double now) {
  double wait = 1000;
  int kept = 0;
  for (int i = 0; i < p->ntargets; i++)
    if (p->targets[i].expires > now) p->targets[kept++] = p->targets[i];
  p->ntargets = kept;
  if (p->ntargets > 0 && now < p->lease_until) {
    if (now >= p->next_send) {
      uint8_t f[PULSE_FRAME_BYTES];
      for (int i = 0; i < p->ntargets; i++) {
        frame(p, f, FRAME_PULSE, p->targets[i].key);
        send_to(p, f, &p->targets[i].addr, p->targets[i].len);
      }
      // Keep the cadence; after a stall, start again from now.
      p->next_send += p->interval_ms;
      if (p->next_send <= now) p->next_send = now + p->interval_ms;
    }
    if (p->next_send - now < wait) wait = p->next_send - now;
    if (p->lease_until - now < wait) wait = p->lease_until - now;
  }
  for (int i = 0; i < p->nwatched; i++) {
    pulse_watched_t* w = &p->watched[i];
    if (w->has_addr && now >= w->next_sub) subscribe(p, w, now);
    if (w->has_addr && w->next_sub - now < wait) wait = w->next_sub - now;
    if (!w->heard || w->silent) continue;
    double quiet = now - w->last;
    if (quiet > w->silence_ms) {
      w->silent = 1;
      emit(p, EV_SILENT, w->id, quiet);
      subscribe(p, w, now); // its subscription may be what was lost
    } else if (w->silence_ms - quiet < wait) {
      wait = w->silence_ms - quiet;
    }
  }
  return wait;
}

void* meshlb_pulse_run(void* arg) {
  pulse_t* p = arg;
  for (;;) {
    pthread_mutex_lock(&p->mu);
    if (p->closing) {
      pthread_mutex_unlock(&p->mu);
      break;
    }
    meshlb_pulse_drain(p);
    double wait = turn(p, meshlb_pulse_mono_ms());
    pthread_mutex_unlock(&p->mu);

    struct pollfd fds[2] = {{.fd = p->fd, .events = POLLIN}, {.fd = p->efd, .events = POLLIN}};
    // Round up: a wait of 0.4 ms must not spin at 0.
    int ms = wait <= 0 ? 0 : (int)wait + 1;
    int r = poll(fds, 2, ms);
    if (r < 0 && errno != EINTR) {
      // Never seen; but a thread that left would report no silence again:
      // wait a little and go on.
      struct timespec pause = {0, 1000000};
      nanosleep(&pause, NULL);
      continue;
    }
    if (r > 0 && (fds[1].revents & POLLIN)) {
      uint64_t v;
      (void)!read(p->efd, &v, sizeof v);
    }
    // Datagrams are read at the top of the loop.
  }
  return NULL;
}
