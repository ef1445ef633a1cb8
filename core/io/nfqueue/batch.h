/*
 * The batch parser of palisade's NFQUEUE addon: one received netlink datagram in, the queued
 * packets it carries out, as fields in a flat u32 array (no allocation, no copy: a packet is an
 * offset and a length into the receive buffer). Plain C, bounded by the datagram's length at
 * every read: a malformed or truncated message is counted and skipped, never read past.
 *
 * Message layout (linux/netfilter/nfnetlink_queue.h): nlmsghdr, nfgenmsg, then attributes
 * (struct nlattr, each padded to 4 bytes). The kernel sends one NFQNL_MSG_PACKET per queued
 * packet, and NLMSG_ERROR for a verdict it refused (an unknown id: netlink acks every error).
 */
#ifndef PALISADE_NFQUEUE_BATCH_H
#define PALISADE_NFQUEUE_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>

/* The fields of one packet in the meta array; keep in step with core/io/nfqueue/index.ts. */
enum {
  NFQB_OFFSET = 0,  /* payload (the IP datagram) offset in the receive buffer */
  NFQB_LENGTH = 1,  /* payload bytes present */
  NFQB_ID = 2,      /* the kernel's packet id, for the verdict */
  NFQB_MARK = 3,    /* skb mark */
  NFQB_SKBINFO = 4, /* NFQA_SKB_INFO: CSUMNOTREADY, GSO, CSUM_NOTVERIFIED */
  NFQB_ORIGLEN = 5, /* the packet's length before the copy range cut it (NFQA_CAP_LEN) */
  NFQB_HWPROTO = 6, /* EtherType the kernel saw (host order) */
  NFQB_STATUS = 7,  /* NFQB_S_* below */
  NFQB_FIELDS = 8
};

/* The message was malformed past its packet id: the packet has a verdict to get, but its
 * payload may be missing or cut. */
#define NFQB_S_MALFORMED 1u

struct nfqb_counts {
  uint32_t packets;   /* packet messages with an id, written to the meta array */
  uint32_t malformed; /* messages skipped (no id readable), or cut datagrams */
  uint32_t errors;    /* NLMSG_ERROR with a non-zero code (a refused verdict) */
  uint32_t overflow;  /* packets past the meta array's room (never with the addon's sizes) */
  uint32_t other;     /* messages of any other type, ignored */
};

static inline uint32_t nfqb_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint16_t nfqb_u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

/*
 * One packet message, the `len` bytes at origin + at (len may be short of the header's
 * nlmsg_len when the datagram was cut). Returns 1 if a packet was written to `out`.
 */
static inline int nfqb_packet(const uint8_t *origin, size_t at, size_t len, int cut, uint32_t *out) {
  const size_t attrs = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
  if (len < attrs) return 0;
  int have_id = 0, malformed = cut;
  uint32_t id = 0, mark = 0, info = 0, caplen = 0, off = 0, plen = 0, hwproto = 0;
  size_t a = attrs;
  while (a < len) {
    if (len - a < NLA_HDRLEN) { malformed = 1; break; }
    const uint16_t alen = nfqb_u16(origin + at + a);
    const uint16_t type = nfqb_u16(origin + at + a + 2) & NLA_TYPE_MASK;
    if (alen < NLA_HDRLEN || alen > len - a) { malformed = 1; break; }
    const uint8_t *v = origin + at + a + NLA_HDRLEN;
    const size_t vlen = alen - NLA_HDRLEN;
    switch (type) {
      case NFQA_PACKET_HDR: /* struct nfqnl_msg_packet_hdr: be32 id, be16 hw_protocol, u8 hook */
        if (vlen >= 7) { id = ntohl(nfqb_u32(v)); hwproto = ntohs(nfqb_u16(v + 4)); have_id = 1; }
        else malformed = 1;
        break;
      case NFQA_MARK:
        if (vlen >= 4) mark = ntohl(nfqb_u32(v)); else malformed = 1;
        break;
      case NFQA_SKB_INFO:
        if (vlen >= 4) info = ntohl(nfqb_u32(v)); else malformed = 1;
        break;
      case NFQA_CAP_LEN:
        if (vlen >= 4) caplen = ntohl(nfqb_u32(v)); else malformed = 1;
        break;
      case NFQA_PAYLOAD:
        off = (uint32_t)(at + a + NLA_HDRLEN);
        plen = (uint32_t)vlen;
        break;
      default:
        break;
    }
    a += NLA_ALIGN(alen);
  }
  if (!have_id) return 0;
  out[NFQB_OFFSET] = off;
  out[NFQB_LENGTH] = plen;
  out[NFQB_ID] = id;
  out[NFQB_MARK] = mark;
  out[NFQB_SKBINFO] = info;
  out[NFQB_ORIGLEN] = caplen > plen ? caplen : plen;
  out[NFQB_HWPROTO] = hwproto;
  out[NFQB_STATUS] = malformed ? NFQB_S_MALFORMED : 0;
  return 1;
}

/*
 * Parses the datagram of `len` bytes at origin + at (`cut`: the socket said MSG_TRUNC), writing
 * packets to meta from index *n (meta holds `room` packets). Offsets written are from origin.
 */
static inline void nfqb_parse(const uint8_t *origin, size_t at, size_t len, int cut, uint32_t *meta, uint32_t room,
                              uint32_t *n, struct nfqb_counts *c) {
  size_t off = 0;
  while (len - off >= NLMSG_HDRLEN) {
    const uint32_t mlen = nfqb_u32(origin + at + off);
    const uint16_t type = nfqb_u16(origin + at + off + 4);
    size_t avail = len - off;
    int short_msg = 0;
    if (mlen < NLMSG_HDRLEN) { c->malformed++; return; }
    if (mlen > avail) short_msg = 1; /* cut: read what is there, then stop */
    else avail = mlen;
    if (type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)) {
      if (*n >= room) c->overflow++;
      else if (nfqb_packet(origin, at + off, avail, short_msg || cut, meta + (size_t)*n * NFQB_FIELDS)) {
        (*n)++;
        c->packets++;
      } else c->malformed++;
    } else if (type == NLMSG_ERROR) {
      if (avail >= NLMSG_HDRLEN + 4) {
        int32_t code;
        memcpy(&code, origin + at + off + NLMSG_HDRLEN, 4);
        if (code != 0) c->errors++;
      } else c->malformed++;
    } else if (type != NLMSG_NOOP && type != NLMSG_DONE) {
      c->other++;
    }
    if (short_msg) { if (type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)) c->malformed++; return; }
    off += NLMSG_ALIGN(mlen);
    if (off >= len) return;
  }
}

#endif
