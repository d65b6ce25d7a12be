/*
 * C limit of a kernel-filtered flush: `IPCTNL_MSG_CT_DELETE` without a tuple, with a
 * `CTA_FILTER` on the original tuple's protocol only, nfgenmsg version 1 (so the family
 * filters), one acknowledged request per family (a `CTA_FILTER` needs one). The kernel does
 * not say how many it deleted.
 *   ct_flush PROTO_NUMBER        e.g. ct_flush 17 (UDP)
 */
#include "nlct.h"

static void flush_family(int fd, uint8_t family, uint8_t proto, uint32_t seq) {
  char req[256];
  struct nlmsghdr *nlh = msg_begin(req, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, family, 1, seq);
  struct nlattr *orig = nest_begin(nlh, CTA_TUPLE_ORIG);
  struct nlattr *p = nest_begin(nlh, CTA_TUPLE_PROTO);
  attr_put(nlh, CTA_PROTO_NUM, &proto, 1);
  nest_end(nlh, p);
  nest_end(nlh, orig);
  struct nlattr *filter = nest_begin(nlh, CTA_FILTER);
  uint32_t orig_flags = 1 << 3; /* CTA_FILTER_FLAG(CTA_PROTO_NUM), nf_conntrack_netlink.c */
  uint32_t reply_flags = 0;
  attr_put(nlh, CTA_FILTER_ORIG_FLAGS, &orig_flags, 4);
  attr_put(nlh, CTA_FILTER_REPLY_FLAGS, &reply_flags, 4);
  nest_end(nlh, filter);
  send_all(fd, req, nlh->nlmsg_len);
  recv_until_done(fd, seq, NULL, NULL);
}

int main(int argc, char **argv) {
  if (argc != 2 || atoi(argv[1]) <= 0 || atoi(argv[1]) > 255) {
    fprintf(stderr, "usage: ct_flush PROTO_NUMBER\n");
    return 2;
  }
  int fd = ct_socket();
  flush_family(fd, AF_INET, (uint8_t)atoi(argv[1]), 1);
  flush_family(fd, AF_INET6, (uint8_t)atoi(argv[1]), 2);
  return 0;
}
