/*
 * C limit of a full dump: `IPCTNL_MSG_CT_GET` with NLM_F_DUMP for every family (AF_UNSPEC),
 * counting the entries the kernel sends, decoding nothing. Prints the count.
 *   ct_dump
 */
#include "nlct.h"

static void count(const struct nlmsghdr *h, void *arg) {
  (void)h;
  ++*(long *)arg;
}

int main(void) {
  int fd = ct_socket();
  char req[256];
  struct nlmsghdr *nlh = msg_begin(req, IPCTNL_MSG_CT_GET, NLM_F_DUMP, AF_UNSPEC, NFNETLINK_V0, 1);
  send_all(fd, req, nlh->nlmsg_len);
  long n = 0;
  recv_until_done(fd, 1, count, &n);
  printf("%ld\n", n);
  return 0;
}
