/*
 * The "C limit" of bench/run.mjs: the smallest programs that make the same kernel requests as
 * nfct and conntrack(8) (dump, filtered flush, dump + delete), with no parsing beyond what the
 * request needs. Shared helpers: a ctnetlink socket, message building, attribute walking.
 * Plain libc, no libmnl; Linux uapi headers only.
 */
#ifndef NLCT_H
#define NLCT_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>

#define BUF_SIZE (1 << 20)
#define CT_MSG(type) ((NFNL_SUBSYS_CTNETLINK << 8) | (type))

static inline void die(const char *what) {
  perror(what);
  exit(1);
}

/* A NETLINK_NETFILTER socket with a large receive buffer (SO_RCVBUFFORCE as root, else SO_RCVBUF). */
static inline int ct_socket(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) die("socket");
  int size = 8 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
  return fd;
}

/* Starts a ctnetlink message at `buf`: nlmsghdr + nfgenmsg; returns it (length so far in nlmsg_len). */
static inline struct nlmsghdr *msg_begin(void *buf, uint8_t type, uint16_t flags, uint8_t family, uint8_t version, uint32_t seq) {
  struct nlmsghdr *nlh = buf;
  memset(nlh, 0, NLMSG_HDRLEN + sizeof(struct nfgenmsg));
  nlh->nlmsg_len = NLMSG_HDRLEN + sizeof(struct nfgenmsg);
  nlh->nlmsg_type = CT_MSG(type);
  nlh->nlmsg_flags = NLM_F_REQUEST | flags;
  nlh->nlmsg_seq = seq;
  struct nfgenmsg *nfg = (struct nfgenmsg *)((char *)buf + NLMSG_HDRLEN);
  nfg->nfgen_family = family;
  nfg->version = version;
  return nlh;
}

/* Appends an attribute with `len` bytes of payload (copied when `data`), padded; returns it. */
static inline struct nlattr *attr_put(struct nlmsghdr *nlh, uint16_t type, const void *data, uint16_t len) {
  struct nlattr *a = (struct nlattr *)((char *)nlh + NLMSG_ALIGN(nlh->nlmsg_len));
  a->nla_type = type;
  a->nla_len = NLA_HDRLEN + len;
  if (data) memcpy((char *)a + NLA_HDRLEN, data, len);
  memset((char *)a + NLA_HDRLEN + len, 0, NLA_ALIGN(len) - len);
  nlh->nlmsg_len = NLMSG_ALIGN(nlh->nlmsg_len) + NLA_ALIGN(a->nla_len);
  return a;
}
static inline struct nlattr *nest_begin(struct nlmsghdr *nlh, uint16_t type) {
  return attr_put(nlh, type | NLA_F_NESTED, NULL, 0);
}
static inline void nest_end(struct nlmsghdr *nlh, struct nlattr *a) {
  a->nla_len = (uint16_t)((char *)nlh + nlh->nlmsg_len - (char *)a);
}

static inline void send_all(int fd, const void *buf, size_t len) {
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  ssize_t n = sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof sa);
  if (n < 0) die("sendto");
  if ((size_t)n != len) {
    fprintf(stderr, "sendto: short write\n");
    exit(1);
  }
}

/* Attributes of a nested attribute (or of a message after `skip` bytes), indexed by type. */
static inline void attr_parse(const void *data, size_t len, const struct nlattr **tb, int max) {
  memset(tb, 0, sizeof(*tb) * (size_t)(max + 1));
  const char *p = data, *end = p + len;
  while (p + NLA_HDRLEN <= end) {
    const struct nlattr *a = (const struct nlattr *)p;
    if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end) break;
    int t = a->nla_type & NLA_TYPE_MASK;
    if (t <= max) tb[t] = a;
    p += NLA_ALIGN(a->nla_len);
  }
}
static inline const void *attr_data(const struct nlattr *a) { return (const char *)a + NLA_HDRLEN; }
static inline size_t attr_len(const struct nlattr *a) { return a->nla_len - NLA_HDRLEN; }

/*
 * Receives the replies to request `seq` until NLMSG_DONE (dumps) or the ack (NLMSG_ERROR 0);
 * calls `each` for every other message. Exits on a kernel error.
 */
static inline void recv_until_done(int fd, uint32_t seq, void (*each)(const struct nlmsghdr *, void *), void *arg) {
  static char buf[BUF_SIZE];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("recv");
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_DONE) return;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA(h);
        if (e->error == 0) return;
        errno = -e->error;
        die("netlink");
      }
      if (each) each(h, arg);
    }
  }
}

#endif
