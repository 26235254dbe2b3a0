// Answering in the addon: see answer.h. Every offset and check mirrors
// src/arp/fast-arp.ts and fast-ndp.ts; test/unit/arp-native-answer.test.ts
// holds the two to the same bytes on random frames.

#define _GNU_SOURCE // qsort_r
#include "answer.h"

#include <linux/if_packet.h>
#include <stdlib.h>
#include <string.h>

// Ethernet.
#define ETH_SRC 6
// ARP after the Ethernet header.
#define ARP_OP 20
#define ARP_SENDER_MAC 22
#define ARP_SENDER_IP 28
#define ARP_TARGET_MAC 32
#define ARP_TARGET_IP 38
#define ARP_END 42
#define ARP_REPLY_BYTES 60 // padded to the Ethernet minimum, as the codec pads
// IPv6 and ICMPv6.
#define IP6 14
#define IP6_SRC 22
#define IP6_DST 38
#define ICMP 54
#define NS_TARGET 62
#define NS_OPTIONS 78
#define NA_LENGTH 32

static int cmp_addr(const void* a, const void* b, void* width) { return memcmp(a, b, *(size_t*)width); }

size_t meshlb_answer_sort(uint8_t* addrs, size_t n, int width) {
  if (n < 2) return n;
  size_t w = (size_t)width;
  qsort_r(addrs, n, w, cmp_addr, &w);
  size_t out = 1;
  for (size_t i = 1; i < n; i++) {
    if (memcmp(addrs + (out - 1) * width, addrs + i * width, (size_t)width) != 0) {
      if (out != i) memcpy(addrs + out * width, addrs + i * width, (size_t)width);
      out++;
    }
  }
  return out;
}

// Binary search of a sorted table.
static int contains(const uint8_t* addrs, size_t n, int width, const uint8_t* ip) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = memcmp(addrs + mid * (size_t)width, ip, (size_t)width);
    if (c == 0) return 1;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return 0;
}

int meshlb_answerable_pkttype(int pkttype) {
  return pkttype == PACKET_HOST || pkttype == PACKET_BROADCAST || pkttype == PACKET_MULTICAST;
}

static size_t answer_arp(const answer_table_t* t, const uint8_t* f, size_t len, uint8_t* out) {
  static const uint8_t header[] = {0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1};
  if (len < ARP_END || memcmp(f + 12, header, sizeof header) != 0) return 0;
  if (memcmp(f + ARP_SENDER_IP, f + ARP_TARGET_IP, 4) == 0) return 0; // gratuitous
  if (contains(t->known, t->nknown, 4, f + ARP_SENDER_IP)) return 0;
  if (memcmp(f + ETH_SRC, t->mac, 6) == 0) return 0;
  if (!contains(t->answer, t->nanswer, 4, f + ARP_TARGET_IP)) return 0;
  memset(out, 0, ARP_REPLY_BYTES);
  memcpy(out, f + ARP_SENDER_MAC, 6); // to the requester
  memcpy(out + ETH_SRC, t->mac, 6);
  memcpy(out + 12, f + 12, ARP_OP - 12); // EtherType and the ARP header
  out[ARP_OP + 1] = 2;
  memcpy(out + ARP_SENDER_MAC, t->mac, 6);
  memcpy(out + ARP_SENDER_IP, f + ARP_TARGET_IP, 4);
  memcpy(out + ARP_TARGET_MAC, f + ARP_SENDER_MAC, 6);
  memcpy(out + ARP_TARGET_IP, f + ARP_SENDER_IP, 4);
  return ARP_REPLY_BYTES;
}

// Ones' complement sum of the 16-bit words of f[from, to) (an odd end padded with 0).
static uint64_t sum16(const uint8_t* f, size_t from, size_t to, uint64_t acc) {
  for (size_t i = from; i < to; i += 2) acc += ((uint64_t)f[i] << 8) | (i + 1 < to ? f[i + 1] : 0);
  return acc;
}

// The ICMPv6 checksum sum over the pseudo-header and `length` bytes of message, folded.
static uint64_t checksum_sum(const uint8_t* f, size_t length) {
  uint64_t acc = sum16(f, IP6_SRC, ICMP, 0) + length + 58;
  acc = sum16(f, ICMP, ICMP + length, acc);
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >> 16);
  return acc;
}

static size_t answer_ns(const answer_table_t* t, const uint8_t* f, size_t len, uint8_t* out) {
  static const uint8_t zero[16] = {0};
  if (len < NS_OPTIONS || f[12] != 0x86 || f[13] != 0xdd || (f[IP6] & 0xf0) != 0x60) return 0;
  if (f[IP6 + 6] != 58 || f[IP6 + 7] != 255 || f[ICMP] != 135 || f[ICMP + 1] != 0) return 0;
  size_t length = ((size_t)f[IP6 + 4] << 8) | f[IP6 + 5];
  size_t end = ICMP + length;
  if (length < 24 || end > len || f[NS_TARGET] == 0xff) return 0;
  if (memcmp(f + IP6_SRC, zero, 16) == 0) return 0; // DAD: JavaScript reports it
  size_t reply_mac = ETH_SRC; // unless a source link-layer option says otherwise
  for (size_t o = NS_OPTIONS; o < end;) {
    if (o + 1 >= end) return 0;
    size_t olen = (size_t)f[o + 1] * 8;
    if (olen == 0 || o + olen > end) return 0;
    if (f[o] == 1 && olen == 8 && reply_mac == ETH_SRC) reply_mac = o + 2;
    o += olen;
  }
  if (checksum_sum(f, length) != 0xffff) return 0;
  if (contains(t->known, t->nknown, 16, f + IP6_SRC)) return 0;
  if (memcmp(f + ETH_SRC, t->mac, 6) == 0) return 0;
  if (!contains(t->answer, t->nanswer, 16, f + NS_TARGET)) return 0;
  memset(out, 0, ICMP + NA_LENGTH);
  memcpy(out, f + reply_mac, 6);
  memcpy(out + ETH_SRC, t->mac, 6);
  out[12] = 0x86;
  out[13] = 0xdd;
  out[IP6] = 0x60;
  out[IP6 + 5] = NA_LENGTH;
  out[IP6 + 6] = 58;
  out[IP6 + 7] = 255;
  memcpy(out + IP6_SRC, f + NS_TARGET, 16); // from the VIP
  memcpy(out + IP6_DST, f + IP6_SRC, 16);   // to the solicitation's source
  out[ICMP] = 136;
  out[ICMP + 4] = 0x60; // solicited, override
  memcpy(out + NS_TARGET, f + NS_TARGET, 16);
  out[NS_OPTIONS] = 2; // target link-layer address
  out[NS_OPTIONS + 1] = 1;
  memcpy(out + NS_OPTIONS + 2, t->mac, 6);
  uint64_t sum = ~checksum_sum(out, NA_LENGTH) & 0xffff; // the checksum field is still 0
  out[ICMP + 2] = (uint8_t)(sum >> 8);
  out[ICMP + 3] = (uint8_t)(sum & 0xff);
  return ICMP + NA_LENGTH;
}

size_t meshlb_answer(const answer_table_t* t, const uint8_t* f, size_t len, int pkttype, uint8_t* out) {
  if (t == NULL || t->nanswer == 0 || !meshlb_answerable_pkttype(pkttype)) return 0;
  return t->width == 4 ? answer_arp(t, f, len, out) : answer_ns(t, f, len, out);
}
