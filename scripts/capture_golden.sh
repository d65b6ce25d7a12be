#!/usr/bin/env bash
# Captures golden ctnetlink bytes from the REAL kernel and the REAL conntrack(8) CLI, for
# test/_helpers/golden_flows.ts. Nothing here is produced by nfct's own encoder.
#
#   sudo scripts/capture_golden.sh [out.hex]      (default: test/fixtures/golden.hex)
#
# How:
#   - Re-executes itself under `unshare -n -m`: a fresh network namespace (the host's conntrack
#     table is never touched) and a private mount namespace (for the connlabel.conf below).
#   - In the namespace: lo up, nf_conntrack_acct=1 and nf_conntrack_timestamp=1, an nft ruleset
#     that uses ct (so the conntrack hooks are active and the label extension is enabled).
#   - Builds a table with `conntrack -I` (TCP, UDP, SCTP, ICMP, ICMPv6, GRE; IPv4 and IPv6;
#     zones, marks, labels) and with real packets over 127.0.0.1 and ::1 (UDP, TCP, ICMP echo,
#     ICMPv6 echo), which carry non-zero counters and timestamps.
#   - Runs each conntrack command under
#       strace -f -qq -e trace=sendto,sendmsg,recvmsg,recvfrom -e read=all -e write=all
#     (libmnl sends with sendto(2) and receives with recvmsg(2)); strace's full hex dump of every
#     buffer written/read is parsed back into datagrams, split into netlink messages and
#     annotated per header and attribute by an independent decoder (python, below).
#   - Keeps what the CLI printed (e.g. `-o extended,id`) as comments next to the bytes.
#
# conntrack(8) needs /etc/xtables/connlabel.conf to map --label names to bits. If the file does
# not exist, an empty tmpfs is mounted on /etc/xtables inside the private mount namespace (the
# directory itself is created first if missing, and removed again afterwards if it was empty).
set -euo pipefail

if [[ "${NFCT_GOLDEN_IN_NETNS:-}" != 1 ]]; then
  if [[ $(id -u) != 0 ]]; then echo "capture_golden.sh: run as root (it uses unshare -n -m)" >&2; exit 1; fi
  root=$(cd "$(dirname "$0")/.." && pwd)
  out=${1:-$root/test/fixtures/golden.hex}
  created_dir=0
  if [[ ! -e /etc/xtables/connlabel.conf && ! -d /etc/xtables ]]; then mkdir /etc/xtables; created_dir=1; fi
  rc=0
  NFCT_GOLDEN_IN_NETNS=1 unshare -n -m -- "$BASH" "$0" "$out" || rc=$?
  if [[ $created_dir == 1 ]]; then rmdir /etc/xtables 2>/dev/null || true; fi
  exit $rc
fi

out=$1
work=$(mktemp -d /tmp/nfct-golden.XXXXXX)
traffic_pid=
cleanup() {
  if [[ -n $traffic_pid ]]; then kill "$traffic_pid" 2>/dev/null || true; wait "$traffic_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# --- the namespace -------------------------------------------------------------------------
if [[ ! -e /etc/xtables/connlabel.conf ]]; then
  mount -t tmpfs -o size=64k nfct-golden /etc/xtables
  cat >/etc/xtables/connlabel.conf <<'EOF'
# written by nfct scripts/capture_golden.sh inside a private mount namespace
1 golden-1
3 nft-3
40 golden-40
66 golden-66
127 golden-127
EOF
fi
ip link set lo up
sysctl -qw net.netfilter.nf_conntrack_acct=1
sysctl -qw net.netfilter.nf_conntrack_timestamp=1
nft -f - <<'EOF'
table inet golden {
  chain out {
    type filter hook output priority 0; policy accept;
    udp dport 5300 ct mark set 0x2a
    ct state new ct label set 3
  }
}
EOF

capfile=$work/captures.txt
: >"$capfile"
n=0
# cap LABEL WHAT -- conntrack ARGS...: runs conntrack under strace, records bytes and output.
# capreq: the same, but the fixture keeps only the requests and the ACK/error replies (for
# commands that dump the table first: the dump itself is already in `list`).
mode=all
capreq() { mode=requests; cap "$@"; mode=all; }
cap() {
  local label=$1 what=$2
  shift 3
  n=$((n + 1))
  local st=$work/$n.strace txt=$work/$n.out
  strace -f -qq -e trace=sendto,sendmsg,recvmsg,recvfrom -e signal=none -e read=all -e write=all \
    -o "$st" conntrack "$@" >"$txt" 2>&1 || true
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$mode" "$what" "conntrack $*" "$st" "$txt" >>"$capfile"
}

# --- entries made with conntrack -I (request bytes from the CLI, ACK from the kernel) -------
cap create_tcp4 "create a TCP/IPv4 ESTABLISHED flow with status ASSURED and mark 5" -- \
  -I -p tcp -s 192.0.2.1 -d 198.51.100.2 --sport 40000 --dport 443 --state ESTABLISHED -u ASSURED -m 5 -t 120
cap create_tcp6_zone "create a TCP/IPv6 SYN_SENT flow in zone 7" -- \
  -I -p tcp -s 2001:db8::1 -d 2001:db8::2 --sport 50000 --dport 22 --state SYN_SENT -t 60 -w 7
cap create_udp4_origzone "create a UDP/IPv4 flow with --orig-zone 3" -- \
  -I -p udp -s 192.0.2.1 -d 198.51.100.2 --sport 1053 --dport 53 -t 30 --orig-zone 3
cap create_udp6_replyzone "create a UDP/IPv6 flow with --reply-zone 4 and mark 0xff" -- \
  -I -p udp -s 2001:db8::1 -d 2001:db8::2 --sport 1053 --dport 53 -t 30 --reply-zone 4 -m 0xff
cap create_sctp4 "create an SCTP/IPv4 ESTABLISHED flow with verification tags (decimal: conntrack reads 0x... as 0)" -- \
  -I -p sctp -s 192.0.2.1 -d 198.51.100.2 --sport 5000 --dport 5001 --state ESTABLISHED \
  --orig-vtag 287454020 --reply-vtag 1432778632 -t 100
cap create_icmp4 "create an ICMP echo flow" -- \
  -I -p icmp -s 192.0.2.1 -d 198.51.100.2 --icmp-type 8 --icmp-code 0 --icmp-id 77 -t 30
cap create_icmp6 "create an ICMPv6 echo flow" -- \
  -I -p icmpv6 -s 2001:db8::1 -d 2001:db8::2 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 99 -t 30
cap create_gre4 "create a GRE/IPv4 flow with keys" -- \
  -I -p gre -s 192.0.2.1 -d 198.51.100.2 --srckey 0x1111 --dstkey 0x2222 -t 90
cap create_udp4_labels "create a UDP/IPv4 flow with connlabels 1, 66 and 127" -- \
  -I -p udp -s 192.0.2.1 -d 198.51.100.3 --sport 2000 --dport 2001 -t 30 --label-add golden-1,golden-66,golden-127
cap create_tcp4_dup "create an entry that exists already (EEXIST)" -- \
  -I -p tcp -s 192.0.2.1 -d 198.51.100.2 --sport 40000 --dport 443 --state ESTABLISHED -u ASSURED -m 5 -t 120

# --- real packets: counters, timestamps, TCP window scaling, labels set by nft --------------
python3 - "$work/ready" <<'EOF' &
import os, socket, struct, sys, time
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
keep = []
for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    srv = socket.socket(fam, socket.SOCK_DGRAM); srv.bind((host, 5300))
    cli = socket.socket(fam, socket.SOCK_DGRAM); cli.bind((host, 40000))
    cli.sendto(b"golden-query", (host, 5300))
    data, peer = srv.recvfrom(100); srv.sendto(b"golden-answer!", peer); cli.recvfrom(100)
    keep += [srv, cli]
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 8080)); ls.listen(1)
c = socket.socket(socket.AF_INET, socket.SOCK_STREAM); c.bind(("127.0.0.1", 40001)); c.connect(("127.0.0.1", 8080))
s, _ = ls.accept(); c.sendall(b"hello"); s.recv(5); s.sendall(b"world!"); c.recv(6)
keep += [ls, c, s]
r4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
hdr = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1) + b"golden"
r4.settimeout(2)
r4.sendto(struct.pack("!BBHHH", 8, 0, csum(hdr), 0x1234, 1) + b"golden", ("127.0.0.1", 0))
r6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
r6.settimeout(2)
r6.sendto(struct.pack("!BBHHH", 128, 0, 0, 0x4321, 1) + b"golden", ("::1", 0))
for r in (r4, r6):  # wait for the echo reply (the request itself may show up first)
    for _ in range(2):
        try: r.recv(200)
        except socket.timeout: break
keep += [r4, r6]
open(sys.argv[1], "w").close()
time.sleep(600)
EOF
traffic_pid=$!
for _ in $(seq 100); do [[ -e $work/ready ]] && break; sleep 0.1; done
[[ -e $work/ready ]] || { echo "capture_golden.sh: traffic generator did not start" >&2; exit 1; }

# --- kernel replies: one -G per flow (request + reply + the CLI's text), then a full dump ----
cap get_tcp4 "get the TCP/IPv4 flow" -- -G -o extended,id,labels,ktimestamp -p tcp -s 192.0.2.1 -d 198.51.100.2 --sport 40000 --dport 443
# (conntrack 1.4.7 refuses -w/--orig-zone/--reply-zone with -G: the zoned flows are in `list`.)
cap get_sctp4 "get the SCTP flow" -- -G -o extended,id,labels,ktimestamp -p sctp -s 192.0.2.1 -d 198.51.100.2 --sport 5000 --dport 5001
cap get_icmp4 "get the ICMP flow" -- -G -o extended,id,labels,ktimestamp -p icmp -s 192.0.2.1 -d 198.51.100.2 --icmp-type 8 --icmp-code 0 --icmp-id 77
cap get_icmp6 "get the ICMPv6 flow" -- -G -o extended,id,labels,ktimestamp -p icmpv6 -s 2001:db8::1 -d 2001:db8::2 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 99
cap get_gre4 "get the GRE flow" -- -G -o extended,id,labels,ktimestamp -p gre -s 192.0.2.1 -d 198.51.100.2 --srckey 0x1111 --dstkey 0x2222
cap get_udp4_labels "get the labelled UDP flow" -- -G -o extended,id,labels,ktimestamp -p udp -s 192.0.2.1 -d 198.51.100.3 --sport 2000 --dport 2001
cap get_live_udp4 "get the live UDP/IPv4 flow (real packets: counters, timestamp, nft mark and label)" -- \
  -G -o extended,id,labels,ktimestamp -p udp -s 127.0.0.1 -d 127.0.0.1 --sport 40000 --dport 5300
cap get_live_udp6 "get the live UDP/IPv6 flow (real packets)" -- \
  -G -o extended,id,labels,ktimestamp -p udp -s ::1 -d ::1 --sport 40000 --dport 5300
cap get_live_tcp4 "get the live TCP/IPv4 ESTABLISHED connection (real packets: wscale, flags)" -- \
  -G -o extended,id,labels,ktimestamp -p tcp -s 127.0.0.1 -d 127.0.0.1 --sport 40001 --dport 8080
cap get_live_icmp4 "get the live ICMP echo flow (real packets)" -- \
  -G -o extended,id,labels,ktimestamp -p icmp -s 127.0.0.1 -d 127.0.0.1 --icmp-type 8 --icmp-code 0 --icmp-id 4660
cap get_live_icmp6 "get the live ICMPv6 echo flow (real packets)" -- \
  -G -o extended,id,labels,ktimestamp -p icmpv6 -s ::1 -d ::1 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 17185
cap get_missing "get a flow that does not exist (ENOENT)" -- -G -p udp -s 192.0.2.9 -d 198.51.100.9 --sport 9 --dport 9
cap list "list the whole table" -- -L -o extended,id,labels,ktimestamp

# --- more requests: filtered dumps, update, delete, counters, statistics, flush -------------
capreq list_udp_dport53 "list UDP flows to port 53 (the CLI filters this in userspace)" -- -L -p udp --dport 53
capreq list_mark "list flows whose mark & 0xff is 1 (kernel-side CTA_MARK/CTA_MARK_MASK)" -- -L -m 1/0xff
capreq list_ipv6 "list IPv6 flows (kernel-side, by nfgenmsg family)" -- -L -f ipv6
capreq update_mark "set mark 9 on the TCP/IPv4 flow (the CLI dumps, then sends IPCTNL_MSG_CT_NEW per match)" -- \
  -U -p tcp -s 192.0.2.1 -d 198.51.100.2 --sport 40000 --dport 443 -m 9
capreq update_label_add "add label 40 to the labelled UDP flow" -- \
  -U -p udp -s 192.0.2.1 -d 198.51.100.3 --sport 2000 --dport 2001 --label-add golden-40
capreq delete_gre4 "delete the GRE flow (the CLI dumps, then sends IPCTNL_MSG_CT_DELETE per match)" -- \
  -D -p gre -s 192.0.2.1 -d 198.51.100.2 --srckey 0x1111 --dstkey 0x2222
cap count "count entries (IPCTNL_MSG_CT_GET_STATS)" -- -C
cap stats "per-CPU statistics (IPCTNL_MSG_CT_GET_STATS_CPU)" -- -S
cap flush "flush the table" -- -F

kill "$traffic_pid" 2>/dev/null || true
wait "$traffic_pid" 2>/dev/null || true
traffic_pid=

# --- annotate ------------------------------------------------------------------------------
python3 - "$capfile" "$out" "$(uname -r)" "$(conntrack --version 2>&1)" "$(strace -V | head -1)" "$(date -u +%Y-%m-%d)" <<'EOF'
import re, socket, struct, sys
capfile, out, kver, ctver, stver, day = sys.argv[1:7]

CTA = {1: ("CTA_TUPLE_ORIG", "tuple"), 2: ("CTA_TUPLE_REPLY", "tuple"), 3: ("CTA_STATUS", None),
       4: ("CTA_PROTOINFO", "protoinfo"), 5: ("CTA_HELP", "help"), 6: ("CTA_NAT_SRC", "nat"),
       7: ("CTA_TIMEOUT", None), 8: ("CTA_MARK", None), 9: ("CTA_COUNTERS_ORIG", "counters"),
       10: ("CTA_COUNTERS_REPLY", "counters"), 11: ("CTA_USE", None), 12: ("CTA_ID", None),
       13: ("CTA_NAT_DST", "nat"), 14: ("CTA_TUPLE_MASTER", "tuple"), 15: ("CTA_SEQ_ADJ_ORIG", "seqadj"),
       16: ("CTA_SEQ_ADJ_REPLY", "seqadj"), 17: ("CTA_SECMARK", None), 18: ("CTA_ZONE", None),
       19: ("CTA_SECCTX", "secctx"), 20: ("CTA_TIMESTAMP", "tstamp"), 21: ("CTA_MARK_MASK", None),
       22: ("CTA_LABELS", "raw"), 23: ("CTA_LABELS_MASK", "raw"), 24: ("CTA_SYNPROXY", "synproxy"),
       25: ("CTA_FILTER", "filter"), 26: ("CTA_STATUS_MASK", None)}
SCHEMA = {
  "tuple": {1: ("CTA_TUPLE_IP", "ip"), 2: ("CTA_TUPLE_PROTO", "proto"), 3: ("CTA_TUPLE_ZONE", None)},
  "ip": {1: ("CTA_IP_V4_SRC", "addr"), 2: ("CTA_IP_V4_DST", "addr"), 3: ("CTA_IP_V6_SRC", "addr"), 4: ("CTA_IP_V6_DST", "addr")},
  "proto": {1: ("CTA_PROTO_NUM", None), 2: ("CTA_PROTO_SRC_PORT", None), 3: ("CTA_PROTO_DST_PORT", None),
            4: ("CTA_PROTO_ICMP_ID", None), 5: ("CTA_PROTO_ICMP_TYPE", None), 6: ("CTA_PROTO_ICMP_CODE", None),
            7: ("CTA_PROTO_ICMPV6_ID", None), 8: ("CTA_PROTO_ICMPV6_TYPE", None), 9: ("CTA_PROTO_ICMPV6_CODE", None)},
  "protoinfo": {1: ("CTA_PROTOINFO_TCP", "tcp"), 2: ("CTA_PROTOINFO_DCCP", "dccp"), 3: ("CTA_PROTOINFO_SCTP", "sctp")},
  "tcp": {1: ("CTA_PROTOINFO_TCP_STATE", None), 2: ("CTA_PROTOINFO_TCP_WSCALE_ORIGINAL", None),
          3: ("CTA_PROTOINFO_TCP_WSCALE_REPLY", None), 4: ("CTA_PROTOINFO_TCP_FLAGS_ORIGINAL", "flags"),
          5: ("CTA_PROTOINFO_TCP_FLAGS_REPLY", "flags")},
  "sctp": {1: ("CTA_PROTOINFO_SCTP_STATE", None), 2: ("CTA_PROTOINFO_SCTP_VTAG_ORIGINAL", None), 3: ("CTA_PROTOINFO_SCTP_VTAG_REPLY", None)},
  "dccp": {1: ("CTA_PROTOINFO_DCCP_STATE", None), 2: ("CTA_PROTOINFO_DCCP_ROLE", None), 3: ("CTA_PROTOINFO_DCCP_HANDSHAKE_SEQ", None)},
  "counters": {1: ("CTA_COUNTERS_PACKETS", None), 2: ("CTA_COUNTERS_BYTES", None)},
  "tstamp": {1: ("CTA_TIMESTAMP_START", None), 2: ("CTA_TIMESTAMP_STOP", None)},
  "synproxy": {1: ("CTA_SYNPROXY_ISN", None), 2: ("CTA_SYNPROXY_ITS", None), 3: ("CTA_SYNPROXY_TSOFF", None)},
  "filter": {1: ("CTA_FILTER_ORIG_FLAGS", "host32"), 2: ("CTA_FILTER_REPLY_FLAGS", "host32")},
  "help": {1: ("CTA_HELP_NAME", "str")}, "secctx": {1: ("CTA_SECCTX_NAME", "str")},
  "nat": {}, "seqadj": {},
  "stats_cpu": {i + 1: ("CTA_STATS_" + n, None) for i, n in enumerate(
      "SEARCHED FOUND NEW INVALID IGNORE DELETE DELETE_LIST INSERT INSERT_FAILED DROP EARLY_DROP ERROR "
      "SEARCH_RESTART CLASH_RESOLVE CHAIN_TOOLONG".split())},
  "stats_global": {1: ("CTA_STATS_GLOBAL_ENTRIES", None), 2: ("CTA_STATS_GLOBAL_MAX_ENTRIES", None)},
  "cta": CTA,
}
MSG = {0: "IPCTNL_MSG_CT_NEW", 1: "IPCTNL_MSG_CT_GET", 2: "IPCTNL_MSG_CT_DELETE", 3: "IPCTNL_MSG_CT_GET_CTRZERO",
       4: "IPCTNL_MSG_CT_GET_STATS_CPU", 5: "IPCTNL_MSG_CT_GET_STATS"}
FAM = {0: "AF_UNSPEC", 2: "AF_INET", 10: "AF_INET6"}

def flags_text(t, f):
    names = []
    for bit, n in ((1, "REQUEST"), (2, "MULTI"), (4, "ACK"), (8, "ECHO"), (0x10, "DUMP_INTR"), (0x20, "DUMP_FILTERED")):
        if f & bit: names.append(n)
    hi = f & 0xf00
    if t == 2:
        for bit, n in ((0x100, "CAPPED"), (0x200, "ACK_TLVS")):
            if f & bit: names.append(n)
    elif t & 0xff == 0 and t >> 8 == 1:
        for bit, n in ((0x100, "REPLACE"), (0x200, "EXCL"), (0x400, "CREATE"), (0x800, "APPEND")):
            if f & bit: names.append(n)
    elif hi == 0x300: names.append("DUMP")
    elif hi:
        names.append("0x%x" % hi)
    return "|".join(names) or "0"

def hx(b): return b.hex()

def value_text(ctx, name, kind, p):
    if kind == "addr": return socket.inet_ntop(socket.AF_INET if len(p) == 4 else socket.AF_INET6, p)
    if kind == "flags" and len(p) == 2: return "flags 0x%02x mask 0x%02x" % (p[0], p[1])
    if kind == "host32" and len(p) == 4: return "0x%x (host order)" % struct.unpack("<I", p)[0]
    if kind == "str": return repr(p.rstrip(b"\0").decode())
    if kind == "raw": return "%d bytes" % len(p)
    if len(p) == 1: return str(p[0])
    if len(p) == 2: return str(struct.unpack("!H", p)[0])
    if len(p) == 4:
        v = struct.unpack("!I", p)[0]
        return "0x%x" % v if name in ("CTA_STATUS", "CTA_MARK_MASK", "CTA_STATUS_MASK") or "VTAG" in name else str(v)
    if len(p) == 8: return str(struct.unpack("!Q", p)[0])
    return "%d bytes" % len(p)

def attrs(buf, ctx, depth, lines):
    i = 0
    ind = "  " * depth
    while i < len(buf):
        if len(buf) - i < 4:
            lines.append((ind + hx(buf[i:]), "trailing bytes")); break
        ln, ty = struct.unpack_from("<HH", buf, i)
        t = ty & 0x3fff
        name, kind = SCHEMA[ctx].get(t, ("attr %d" % t, None)) if ctx in SCHEMA else ("attr %d" % t, None)
        p = buf[i + 4:i + ln]
        al = (ln + 3) & ~3
        pad = buf[i + ln:i + al]
        nested = bool(ty & 0x8000)
        fl = " (NLA_F_NESTED)" if nested else ""
        if nested and kind in SCHEMA:
            lines.append((ind + hx(buf[i:i + 4]), "%s%s len %d" % (name, fl, ln)))
            attrs(p, kind, depth + 1, lines)
        else:
            padtxt = (" " + hx(pad)) if pad else ""
            note = "" if not pad else (", pad" if pad == b"\0" * len(pad) else ", pad (not zeroed by the sender)")
            lines.append((ind + hx(buf[i:i + 4]) + " " + hx(p) + padtxt, "%s%s = %s%s" % (name, fl, value_text(ctx, name, kind, p), note)))
        i += al

def message(m):
    lines = []
    ln, t, f, seq, pid = struct.unpack_from("<IHHII", m, 0)
    if t == 2: tn = "NLMSG_ERROR"
    elif t == 3: tn = "NLMSG_DONE"
    elif t >> 8 == 1: tn = "NFNL_SUBSYS_CTNETLINK<<8 | " + MSG.get(t & 0xff, str(t & 0xff))
    else: tn = "0x%x" % t
    lines.append(("%s %s %s %s %s" % (hx(m[0:4]), hx(m[4:6]), hx(m[6:8]), hx(m[8:12]), hx(m[12:16])),
                  "nlmsghdr: len %d, type %s, flags %s, seq %d, pid %d" % (ln, tn, flags_text(t, f), seq, pid)))
    body = m[16:ln]
    if t == 2:
        err = struct.unpack_from("<i", body, 0)[0]
        lines.append((hx(body[0:4]), "nlmsgerr.error = %d%s" % (err, " (ACK)" if err == 0 else "")))
        ol, ot, of, os_, op = struct.unpack_from("<IHHII", body, 4)
        lines.append(("%s %s %s %s %s" % (hx(body[4:8]), hx(body[8:10]), hx(body[10:12]), hx(body[12:16]), hx(body[16:20])),
                      "nlmsgerr.msg: the request's nlmsghdr (len %d, type 0x%x, flags 0x%x)" % (ol, ot, of)))
        rest = body[20:]
        if not (f & 0x100) and rest:
            pl = ((ol + 3) & ~3) - 16
            lines.append((hx(rest[:pl]), "the request's payload (not NLM_F_CAPPED)")); rest = rest[pl:]
        if rest: lines.append((hx(rest), "extended ACK TLVs"))
        return lines
    if t == 3:
        lines.append((hx(body), "NLMSG_DONE payload (int 0)"))
        return lines
    if len(body) >= 4:
        lines.append(("%s %s %s" % (hx(body[0:1]), hx(body[1:2]), hx(body[2:4])),
                      "nfgenmsg: family %s, version %d, res_id %d" % (FAM.get(body[0], str(body[0])), body[1], struct.unpack("!H", body[2:4])[0])))
        ctx = {4: "stats_cpu", 5: "stats_global"}.get(t & 0xff, "cta")
        attrs(body[4:], ctx, 0, lines)
    return lines

def parse_strace(path):
    """-> list of (direction, datagram bytes) in order; direction 'request' (sent) or 'reply'."""
    dgrams, cur, direction = [], None, None
    for raw in open(path, encoding="latin-1"):
        line = re.sub(r"^\d+\s+", "", raw.rstrip("\n"))
        m = re.match(r"(sendto|sendmsg|recvmsg|recvfrom)\(", line)
        if m:
            if cur: dgrams.append((direction, bytes(cur)))
            cur = bytearray(); direction = "request" if m.group(1).startswith("send") else "reply"
            continue
        m = re.match(r"\s*\| ([0-9a-f]{5})  (.{49})", line)  # 16 hex bytes in fixed columns
        if m and cur is not None:
            cur += bytes.fromhex("".join(re.findall(r"[0-9a-f]{2}", m.group(2))))
    if cur: dgrams.append((direction, bytes(cur)))
    return dgrams

def emit_lines(lines):
    wrapped = []
    for h, c in lines:
        if len(h) > 96 and " " not in h.strip():  # a long opaque blob: 32 bytes per line
            ind = h[:len(h) - len(h.lstrip())]
            b = h.strip()
            for i in range(0, len(b), 64):
                wrapped.append((ind + b[i:i + 64], c if i == 0 else "..."))
        else:
            wrapped.append((h, c))
    lines = wrapped
    w = max(len(h) for h, _ in lines)
    return ["%s  # %s" % (h.ljust(w), c) for h, c in lines]

o = []
o.append("# Golden ctnetlink bytes captured from the real kernel and the real conntrack(8) CLI.")
o.append("# Generated by scripts/capture_golden.sh on %s; do not edit by hand (re-run the script;" % day)
o.append("# the expected values in test/_helpers/golden_flows.ts must then be re-checked: ids, timeouts,")
o.append("# timestamps, counters and ports of live flows change on every capture).")
o.append("#   kernel %s, %s, %s" % (kver, ctver.strip(), stver.strip()))
o.append("# Method: a fresh netns (unshare -n -m), lo up, nf_conntrack_acct=1, nf_conntrack_timestamp=1,")
o.append("# nft ruleset using ct (`udp dport 5300 ct mark set 0x2a`, `ct state new ct label set 3`);")
o.append("# entries made with `conntrack -I` and with real packets over 127.0.0.1/::1; each command")
o.append("# traced with `strace -f -e trace=sendto,sendmsg,recvmsg,recvfrom -e read=all -e write=all`")
o.append("# (libmnl uses sendto and recvmsg); the hex dumps parsed into datagrams and messages.")
o.append("# Format: `## key` starts a message; `#` starts a comment; the rest is hex.")
o.append("#   key = <capture>.request<N> (bytes the CLI sent) or <capture>.reply<N> (bytes the kernel")
o.append("#   sent), N counting messages of that direction within one command, from 1.")
o.append("# Headers are host order (x86-64, little-endian); ctnetlink payload integers are big-endian.")
for rec in open(capfile):
    label, mode, what, cmd, st, txt = rec.rstrip("\n").split("\t")
    o.append("")
    o.append("# " + "=" * 96)
    o.append("# %s: %s" % (label, what))
    o.append("# $ %s" % cmd)
    for l in open(txt, encoding="utf-8", errors="replace").read().splitlines():
        o.append("#   | " + l)
    counts = {"request": 0, "reply": 0}
    omitted = 0
    for dn, (direction, d) in enumerate(parse_strace(st), 1):
        off = 0
        k = 0
        while off + 16 <= len(d):
            ln = struct.unpack_from("<I", d, off)[0]
            if ln < 16 or off + ln > len(d): break
            k += 1
            mt = struct.unpack_from("<H", d, off + 4)[0]
            if mode == "requests" and direction == "reply" and mt != 2:
                omitted += 1
                off += (ln + 3) & ~3
                continue
            counts[direction] += 1
            o.append("")
            o.append("## %s.%s%d" % (label, direction, counts[direction]))
            who = "conntrack(8) sent (sendto)" if direction == "request" else "the kernel sent (recvmsg)"
            o.append("# %s; datagram %d of this command, message %d in it" % (who, dn, k))
            o.extend(emit_lines(message(d[off:off + ln])))
            off += (ln + 3) & ~3
    if omitted:
        o.append("")
        o.append("# (%d kernel dump messages of this command omitted: the same table is in `list`)" % omitted)
open(out, "w").write("\n".join(o) + "\n")
print("wrote %s" % out)
EOF
