/**
 * Kernel constants of ctnetlink, in their kernel spelling, with the header each comes from.
 * @module
 */

// linux/netfilter/nfnetlink.h
export const NFNL_SUBSYS_CTNETLINK = 1;
export const NFNL_SUBSYS_CTNETLINK_EXP = 2;
export const NFNETLINK_V0 = 0;
/** Groups (bit n-1 of the bind mask is group n). */
export const NFNLGRP_CONNTRACK_NEW = 1;
export const NFNLGRP_CONNTRACK_UPDATE = 2;
export const NFNLGRP_CONNTRACK_DESTROY = 3;
export const NFNLGRP_CONNTRACK_EXP_NEW = 4;
export const NFNLGRP_CONNTRACK_EXP_UPDATE = 5;
export const NFNLGRP_CONNTRACK_EXP_DESTROY = 6;

// linux/netfilter/nfnetlink_conntrack.h: enum cntl_msg_types
export const IPCTNL_MSG_CT_NEW = 0;
export const IPCTNL_MSG_CT_GET = 1;
export const IPCTNL_MSG_CT_DELETE = 2;
export const IPCTNL_MSG_CT_GET_CTRZERO = 3;
export const IPCTNL_MSG_CT_GET_STATS_CPU = 4;
export const IPCTNL_MSG_CT_GET_STATS = 5;
export const IPCTNL_MSG_CT_GET_DYING = 6;
export const IPCTNL_MSG_CT_GET_UNCONFIRMED = 7;

// enum ctnl_exp_msg_types
export const IPCTNL_MSG_EXP_NEW = 0;
export const IPCTNL_MSG_EXP_GET = 1;
export const IPCTNL_MSG_EXP_DELETE = 2;
export const IPCTNL_MSG_EXP_GET_STATS_CPU = 3;

// enum ctattr_type
export const CTA_TUPLE_ORIG = 1;
export const CTA_TUPLE_REPLY = 2;
export const CTA_STATUS = 3;
export const CTA_PROTOINFO = 4;
export const CTA_HELP = 5;
export const CTA_NAT_SRC = 6;
export const CTA_TIMEOUT = 7;
export const CTA_MARK = 8;
export const CTA_COUNTERS_ORIG = 9;
export const CTA_COUNTERS_REPLY = 10;
export const CTA_USE = 11;
export const CTA_ID = 12;
export const CTA_NAT_DST = 13;
export const CTA_TUPLE_MASTER = 14;
export const CTA_SEQ_ADJ_ORIG = 15;
export const CTA_SEQ_ADJ_REPLY = 16;
/** Obsolete but still sent by the kernel when CONFIG_NF_CONNTRACK_SECMARK is set. */
export const CTA_SECMARK = 17;
export const CTA_ZONE = 18;
export const CTA_SECCTX = 19;
export const CTA_TIMESTAMP = 20;
export const CTA_MARK_MASK = 21;
export const CTA_LABELS = 22;
export const CTA_LABELS_MASK = 23;
export const CTA_SYNPROXY = 24;
export const CTA_FILTER = 25;
export const CTA_STATUS_MASK = 26;
/** be64 ns since the epoch: when the kernel recorded an event (Linux 6.14+, `nf_conntrack_timestamp=1`). */
export const CTA_TIMESTAMP_EVENT = 27;

// enum ctattr_tuple
export const CTA_TUPLE_IP = 1;
export const CTA_TUPLE_PROTO = 2;
export const CTA_TUPLE_ZONE = 3;

// enum ctattr_ip
export const CTA_IP_V4_SRC = 1;
export const CTA_IP_V4_DST = 2;
export const CTA_IP_V6_SRC = 3;
export const CTA_IP_V6_DST = 4;

// enum ctattr_l4proto
export const CTA_PROTO_NUM = 1;
export const CTA_PROTO_SRC_PORT = 2;
export const CTA_PROTO_DST_PORT = 3;
export const CTA_PROTO_ICMP_ID = 4;
export const CTA_PROTO_ICMP_TYPE = 5;
export const CTA_PROTO_ICMP_CODE = 6;
export const CTA_PROTO_ICMPV6_ID = 7;
export const CTA_PROTO_ICMPV6_TYPE = 8;
export const CTA_PROTO_ICMPV6_CODE = 9;

// enum ctattr_protoinfo
export const CTA_PROTOINFO_TCP = 1;
export const CTA_PROTOINFO_DCCP = 2;
export const CTA_PROTOINFO_SCTP = 3;

// enum ctattr_protoinfo_tcp
export const CTA_PROTOINFO_TCP_STATE = 1;
export const CTA_PROTOINFO_TCP_WSCALE_ORIGINAL = 2;
export const CTA_PROTOINFO_TCP_WSCALE_REPLY = 3;
export const CTA_PROTOINFO_TCP_FLAGS_ORIGINAL = 4;
export const CTA_PROTOINFO_TCP_FLAGS_REPLY = 5;

// enum ctattr_protoinfo_dccp
export const CTA_PROTOINFO_DCCP_STATE = 1;
export const CTA_PROTOINFO_DCCP_ROLE = 2;
export const CTA_PROTOINFO_DCCP_HANDSHAKE_SEQ = 3;

// enum ctattr_protoinfo_sctp
export const CTA_PROTOINFO_SCTP_STATE = 1;
export const CTA_PROTOINFO_SCTP_VTAG_ORIGINAL = 2;
export const CTA_PROTOINFO_SCTP_VTAG_REPLY = 3;

// enum ctattr_counters
export const CTA_COUNTERS_PACKETS = 1;
export const CTA_COUNTERS_BYTES = 2;
export const CTA_COUNTERS32_PACKETS = 3;
export const CTA_COUNTERS32_BYTES = 4;

// enum ctattr_tstamp
export const CTA_TIMESTAMP_START = 1;
export const CTA_TIMESTAMP_STOP = 2;

// enum ctattr_nat
export const CTA_NAT_V4_MINIP = 1;
export const CTA_NAT_V4_MAXIP = 2;
export const CTA_NAT_PROTO = 3;
export const CTA_NAT_V6_MINIP = 4;
export const CTA_NAT_V6_MAXIP = 5;

// enum ctattr_protonat
export const CTA_PROTONAT_PORT_MIN = 1;
export const CTA_PROTONAT_PORT_MAX = 2;

// enum ctattr_seqadj
export const CTA_SEQADJ_CORRECTION_POS = 1;
export const CTA_SEQADJ_OFFSET_BEFORE = 2;
export const CTA_SEQADJ_OFFSET_AFTER = 3;

// enum ctattr_synproxy
export const CTA_SYNPROXY_ISN = 1;
export const CTA_SYNPROXY_ITS = 2;
export const CTA_SYNPROXY_TSOFF = 3;

// enum ctattr_help
export const CTA_HELP_NAME = 1;
export const CTA_HELP_INFO = 2;

// enum ctattr_secctx
export const CTA_SECCTX_NAME = 1;

// enum ctattr_stats_cpu
export const CTA_STATS_SEARCHED = 1;
export const CTA_STATS_FOUND = 2;
export const CTA_STATS_NEW = 3;
export const CTA_STATS_INVALID = 4;
export const CTA_STATS_IGNORE = 5;
export const CTA_STATS_DELETE = 6;
export const CTA_STATS_DELETE_LIST = 7;
export const CTA_STATS_INSERT = 8;
export const CTA_STATS_INSERT_FAILED = 9;
export const CTA_STATS_DROP = 10;
export const CTA_STATS_EARLY_DROP = 11;
export const CTA_STATS_ERROR = 12;
export const CTA_STATS_SEARCH_RESTART = 13;
export const CTA_STATS_CLASH_RESOLVE = 14;
export const CTA_STATS_CHAIN_TOOLONG = 15;

// enum ctattr_stats_global
export const CTA_STATS_GLOBAL_ENTRIES = 1;
export const CTA_STATS_GLOBAL_MAX_ENTRIES = 2;

// enum ctattr_filter
export const CTA_FILTER_ORIG_FLAGS = 1;
export const CTA_FILTER_REPLY_FLAGS = 2;

// net/netfilter/nf_conntrack_netlink.c (not in uapi): bits of CTA_FILTER_{ORIG,REPLY}_FLAGS
export const CTA_FILTER_FLAG_CTA_IP_SRC = 1 << 0;
export const CTA_FILTER_FLAG_CTA_IP_DST = 1 << 1;
export const CTA_FILTER_FLAG_CTA_TUPLE_ZONE = 1 << 2;
export const CTA_FILTER_FLAG_CTA_PROTO_NUM = 1 << 3;
export const CTA_FILTER_FLAG_CTA_PROTO_SRC_PORT = 1 << 4;
export const CTA_FILTER_FLAG_CTA_PROTO_DST_PORT = 1 << 5;
export const CTA_FILTER_FLAG_CTA_PROTO_ICMP_TYPE = 1 << 6;
export const CTA_FILTER_FLAG_CTA_PROTO_ICMP_CODE = 1 << 7;
export const CTA_FILTER_FLAG_CTA_PROTO_ICMP_ID = 1 << 8;
export const CTA_FILTER_FLAG_CTA_PROTO_ICMPV6_TYPE = 1 << 9;
export const CTA_FILTER_FLAG_CTA_PROTO_ICMPV6_CODE = 1 << 10;
export const CTA_FILTER_FLAG_CTA_PROTO_ICMPV6_ID = 1 << 11;

// sys/socket.h
export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;

// The protocol numbers and the state names of TCP, SCTP and DCCP are in the protocol table.
export {
  DCCP_STATES,
  IPPROTO_DCCP,
  IPPROTO_GRE,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPPROTO_UDPLITE,
  SCTP_STATES,
  TCP_STATES,
} from "./protocols.ts";

/** TCP flags carried in CTA_PROTOINFO_TCP_FLAGS_* (nf_conntrack_tcp.h). */
export const IP_CT_TCP_FLAG_WINDOW_SCALE = 0x01;
export const IP_CT_TCP_FLAG_SACK_PERM = 0x02;
export const IP_CT_TCP_FLAG_CLOSE_INIT = 0x04;
export const IP_CT_TCP_FLAG_BE_LIBERAL = 0x08;
export const IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED = 0x10;
export const IP_CT_TCP_FLAG_MAXACK_SET = 0x20;

// linux/netfilter/nfnetlink_conntrack.h: enum ctattr_expect
export const CTA_EXPECT_MASTER = 1;
export const CTA_EXPECT_TUPLE = 2;
export const CTA_EXPECT_MASK = 3;
export const CTA_EXPECT_TIMEOUT = 4;
export const CTA_EXPECT_ID = 5;
export const CTA_EXPECT_HELP_NAME = 6;
export const CTA_EXPECT_ZONE = 7;
export const CTA_EXPECT_FLAGS = 8;
export const CTA_EXPECT_CLASS = 9;
export const CTA_EXPECT_NAT = 10;
export const CTA_EXPECT_FN = 11;

// enum ctattr_expect_nat
export const CTA_EXPECT_NAT_DIR = 1;
export const CTA_EXPECT_NAT_TUPLE = 2;

// enum ctattr_expect_stats
export const CTA_STATS_EXP_NEW = 1;
export const CTA_STATS_EXP_CREATE = 2;
export const CTA_STATS_EXP_DELETE = 3;

// linux/netfilter/nf_conntrack_common.h: expectation flags (CTA_EXPECT_FLAGS)
export const NF_CT_EXPECT_PERMANENT = 0x1;
export const NF_CT_EXPECT_INACTIVE = 0x2;
export const NF_CT_EXPECT_USERSPACE = 0x4;
