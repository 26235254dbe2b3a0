// Answering in the addon (answer.c): the common ARP requests and neighbour
// solicitations for an announced IP, answered by the packet socket's own
// receive thread from a table JavaScript keeps current, so the reply never
// waits for the event loop. The same decisions and the same bytes as the
// TypeScript fast paths (src/arp/fast-arp.ts, fast-ndp.ts, answerer.ts);
// anything else is left to JavaScript. See docs/wire.md, "Answering in the
// addon".
#ifndef MESHLB_ANSWER_H
#define MESHLB_ANSWER_H

#include <stddef.h>
#include <stdint.h>

// The longest answer: an NA with a target link-layer option (14 + 40 + 32).
#define ANSWER_MAX_BYTES 86
// Addresses in one table at most (announced IPs of one family on one link).
#define ANSWER_MAX_ADDRESSES 65536

// One link's table for one family. `answer`: the addresses answered on this
// link now (announced, not probing, the link not held), sorted; `known`: every
// address announced anywhere, sorted (a request from one of them is unusual:
// JavaScript looks at it). `width` is 4 (ARP) or 16 (NDP).
typedef struct {
  uint8_t mac[6];
  int width;
  uint8_t* answer;
  size_t nanswer;
  uint8_t* known;
  size_t nknown;
} answer_table_t;

// sll_pkttype values that may be answered: PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST.
int meshlb_answerable_pkttype(int pkttype);

// The answer to frame `f` (len bytes, as received) from table `t`, written to
// `out` (ANSWER_MAX_BYTES): its length, or 0 when this frame is not one to
// answer here (JavaScript decides). Never reads past `len`.
size_t meshlb_answer(const answer_table_t* t, const uint8_t* f, size_t len, int pkttype, uint8_t* out);

// Sorts `n` addresses of `width` bytes in place and drops duplicates; returns the new count.
size_t meshlb_answer_sort(uint8_t* addrs, size_t n, int width);

#endif
