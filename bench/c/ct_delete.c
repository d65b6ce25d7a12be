/*
 * C limit of a userspace-filtered delete: one full dump (AF_UNSPEC); each entry is matched here
 * and, when it matches, an `IPCTNL_MSG_CT_DELETE` by its original tuple and id (copied from the
 * dump) goes into a batch; full batches are sent on a second socket while the dump goes on,
 * without NLM_F_ACK (the kernel answers only failures, queued before sendto returns). Prints
 * "deleted N failed M".
 *   ct_delete CONDITION...     an entry matching any CONDITION is deleted
 * A CONDITION is terms joined by commas, all of which must hold: src=, dst=, rsrc=, rdst= (an
 * IPv4 address with an optional /prefix; the original or reply tuple's source or destination),
 * proto=N, sport=N, dport=N (the original tuple), or `all`.
 *   ct_delete dst=198.51.100.0/24
 *   ct_delete rsrc=10.88.0.5 rdst=10.88.0.5 proto=17,dport=8080
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include "nlct.h"

#define MAX_TERMS 8
#define MAX_CONDS 16
#define BATCH (128 << 10)

enum field { F_SRC, F_DST, F_RSRC, F_RDST, F_PROTO, F_SPORT, F_DPORT, F_ALL };
struct term {
  enum field field;
  uint32_t addr, mask; /* network order */
  unsigned value;
};
struct cond {
  int n;
  struct term t[MAX_TERMS];
};
static struct cond conds[MAX_CONDS];
static int nconds;

/* What a condition can look at, from one dump message. */
struct entry {
  int v4;
  uint32_t src, dst, rsrc, rdst;
  int proto, sport, dport;
};

static void usage(void) {
  fprintf(stderr, "usage: ct_delete CONDITION... (see the comment in bench/c/ct_delete.c)\n");
  exit(2);
}

static void parse_term(struct term *t, char *s) {
  if (strcmp(s, "all") == 0) {
    t->field = F_ALL;
    return;
  }
  char *eq = strchr(s, '=');
  if (!eq) usage();
  *eq = 0;
  char *v = eq + 1;
  static const char *names[] = {"src", "dst", "rsrc", "rdst", "proto", "sport", "dport"};
  int f = -1;
  for (int i = 0; i < 7; i++)
    if (strcmp(s, names[i]) == 0) f = i;
  if (f < 0) usage();
  t->field = (enum field)f;
  if (f <= F_RDST) {
    int len = 32;
    char *slash = strchr(v, '/');
    if (slash) {
      *slash = 0;
      len = atoi(slash + 1);
      if (len < 0 || len > 32) usage();
    }
    struct in_addr a;
    if (inet_pton(AF_INET, v, &a) != 1) usage();
    t->mask = len == 0 ? 0 : htonl(0xffffffffu << (32 - len));
    t->addr = a.s_addr & t->mask;
  } else {
    t->value = (unsigned)atoi(v);
  }
}

static void tuple(const struct nlattr *a, uint32_t *src, uint32_t *dst, int *proto, int *sport, int *dport, int *v4) {
  const struct nlattr *tb[CTA_TUPLE_MAX + 1], *ip[CTA_IP_MAX + 1], *pr[CTA_PROTO_MAX + 1];
  attr_parse(attr_data(a), attr_len(a), tb, CTA_TUPLE_MAX);
  if (tb[CTA_TUPLE_IP]) {
    attr_parse(attr_data(tb[CTA_TUPLE_IP]), attr_len(tb[CTA_TUPLE_IP]), ip, CTA_IP_MAX);
    if (ip[CTA_IP_V4_SRC] && ip[CTA_IP_V4_DST]) {
      *v4 = 1;
      memcpy(src, attr_data(ip[CTA_IP_V4_SRC]), 4);
      memcpy(dst, attr_data(ip[CTA_IP_V4_DST]), 4);
    }
  }
  if (proto && tb[CTA_TUPLE_PROTO]) {
    attr_parse(attr_data(tb[CTA_TUPLE_PROTO]), attr_len(tb[CTA_TUPLE_PROTO]), pr, CTA_PROTO_MAX);
    if (pr[CTA_PROTO_NUM]) *proto = *(const uint8_t *)attr_data(pr[CTA_PROTO_NUM]);
    if (pr[CTA_PROTO_SRC_PORT]) *sport = ntohs(*(const uint16_t *)attr_data(pr[CTA_PROTO_SRC_PORT]));
    if (pr[CTA_PROTO_DST_PORT]) *dport = ntohs(*(const uint16_t *)attr_data(pr[CTA_PROTO_DST_PORT]));
  }
}

static int term_holds(const struct term *t, const struct entry *e) {
  switch (t->field) {
  case F_ALL: return 1;
  case F_SRC: return e->v4 && (e->src & t->mask) == t->addr;
  case F_DST: return e->v4 && (e->dst & t->mask) == t->addr;
  case F_RSRC: return e->v4 && (e->rsrc & t->mask) == t->addr;
  case F_RDST: return e->v4 && (e->rdst & t->mask) == t->addr;
  case F_PROTO: return e->proto == (int)t->value;
  case F_SPORT: return e->sport == (int)t->value;
  case F_DPORT: return e->dport == (int)t->value;
  }
  return 0;
}

static int del_fd;
static char batch[BATCH];
static size_t batch_len;
static long sent, failed;

/* Reads every queued failure without blocking: each NLMSG_ERROR on del_fd is one failed delete. */
static void drain(void) {
  static char buf[BUF_SIZE];
  for (;;) {
    ssize_t n = recv(del_fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      die("recv (deletes)");
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n))
      if (h->nlmsg_type == NLMSG_ERROR && ((const struct nlmsgerr *)NLMSG_DATA(h))->error != 0) failed++;
  }
}

static void flush_batch(void) {
  if (batch_len == 0) return;
  send_all(del_fd, batch, batch_len);
  batch_len = 0;
  drain();
}

static void each(const struct nlmsghdr *h, void *arg) {
  (void)arg;
  const struct nfgenmsg *nfg = NLMSG_DATA(h);
  const struct nlattr *tb[CTA_MAX + 1];
  size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof *nfg);
  attr_parse((const char *)h + off, h->nlmsg_len - off, tb, CTA_MAX);
  if (!tb[CTA_TUPLE_ORIG] || !tb[CTA_TUPLE_REPLY]) return;
  struct entry e = {.proto = -1, .sport = -1, .dport = -1};
  int rv4 = 0;
  tuple(tb[CTA_TUPLE_ORIG], &e.src, &e.dst, &e.proto, &e.sport, &e.dport, &e.v4);
  tuple(tb[CTA_TUPLE_REPLY], &e.rsrc, &e.rdst, NULL, NULL, NULL, &rv4);
  int match = 0;
  for (int c = 0; c < nconds && !match; c++) {
    int all = 1;
    for (int i = 0; i < conds[c].n && all; i++) all = term_holds(&conds[c].t[i], &e);
    match = all;
  }
  if (!match) return;
  size_t need = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof *nfg) + NLA_ALIGN(tb[CTA_TUPLE_ORIG]->nla_len) + 64;
  if (batch_len + need > BATCH) flush_batch();
  struct nlmsghdr *d = msg_begin(batch + batch_len, IPCTNL_MSG_CT_DELETE, 0, nfg->nfgen_family, NFNETLINK_V0, 0);
  attr_put(d, CTA_TUPLE_ORIG, attr_data(tb[CTA_TUPLE_ORIG]), (uint16_t)attr_len(tb[CTA_TUPLE_ORIG]));
  if (tb[CTA_ID]) attr_put(d, CTA_ID, attr_data(tb[CTA_ID]), 4);
  if (tb[CTA_ZONE]) attr_put(d, CTA_ZONE, attr_data(tb[CTA_ZONE]), 2);
  batch_len += NLMSG_ALIGN(d->nlmsg_len);
  sent++;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc - 1 > MAX_CONDS) usage();
  for (int i = 1; i < argc; i++) {
    struct cond *c = &conds[nconds++];
    for (char *tok = strtok(argv[i], ","); tok; tok = strtok(NULL, ",")) {
      if (c->n == MAX_TERMS) usage();
      parse_term(&c->t[c->n++], tok);
    }
  }
  int dump_fd = ct_socket();
  del_fd = ct_socket();
  int one = 1;
  setsockopt(del_fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  char req[256];
  struct nlmsghdr *nlh = msg_begin(req, IPCTNL_MSG_CT_GET, NLM_F_DUMP, AF_UNSPEC, NFNETLINK_V0, 1);
  send_all(dump_fd, req, nlh->nlmsg_len);
  recv_until_done(dump_fd, 1, each, NULL);
  flush_batch();
  printf("deleted %ld failed %ld\n", sent - failed, failed);
  return 0;
}
