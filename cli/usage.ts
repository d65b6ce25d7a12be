/**
 * The help text (`-h`).
 * @module
 */
import { PROG, VERSION } from "./version.ts";

/** What `-h` (and a command line without a command) prints. */
export const USAGE: string =
  `Command line interface for the connection tracking system (nfct ${VERSION}, conntrack-tools compatible)
Usage: ${PROG} [commands] [options]

Commands:
  -L [table] [options]		List conntrack table
  -G [table] parameters		Get conntrack
  -D [table] parameters		Delete conntrack entries (each is printed)
  -I [table] parameters		Create a conntrack
  -A [table] parameters		Add a conntrack (no error if it exists)
  -U [table] parameters		Update conntrack entries
  -E [table] [options]		Show events
  -F [table] [filters]		Flush table; with filters, delete what they select (kernel-side when possible)
  -C [table]			Show counter
  -S				Show statistics
  -R file|-			Run -I/-A/-U/-D/-F lines from a file (-o save output), or restore JSON lines (-o json)

Tables: conntrack, expect, dying, unconfirmed

Conntrack parameters and options:
  -n, --src-nat ip[:port]		source NAT ip
  -g, --dst-nat ip[:port]		destination NAT ip
  -j, --any-nat ip[:port]		source or destination NAT ip
  -m, --mark mark[/mask]		Set mark
  -c, --secmark secmark			Set selinux secmark
  -e, --event-mask eventmask		Event mask, eg. NEW,DESTROY
  -z, --zero 				Zero counters while listing
  -o, --output type[,...]		extended,id,ktimestamp,labels,timestamp,save,xml, json or csv (-L)
  -l, --label label[,...]		conntrack labels

Expectation parameters and options:
  --tuple-src ip	Source address in expect tuple
  --tuple-dst ip	Destination address in expect tuple
  (-s/-d: the master's addresses with -I expect; the expectation's own with -G/-D expect)

Updating parameters and options:
  --label-add label	Add label
  --label-del label	Delete label

Common parameters and options:
  -s, --src, --orig-src ip[/cidr]	Source address from original direction
  -d, --dst, --orig-dst ip[/cidr]	Destination address from original direction
  -r, --reply-src ip		Source address from reply direction
  -q, --reply-dst ip		Destination address from reply direction
  -p, --protonum proto		Layer 4 Protocol, eg. 'tcp'
  -f, --family proto		Layer 3 Protocol, eg. 'ipv6'
  -t, --timeout timeout		Set timeout
  -u, --status status		Set status, eg. ASSURED
  -w, --zone value		Set conntrack zone
  --orig-zone value		Set zone for original direction
  --reply-zone value		Set zone for reply direction
  -b, --buffer-size		Netlink socket buffer size
  --mask-src ip			Source mask address
  --mask-dst ip			Destination mask address

Protocol options after -p: tcp/udp/udplite/sctp/dccp --sport --dport --reply-port-src --reply-port-dst
  (tcp/sctp/dccp --state, sctp --orig-vtag --reply-vtag, dccp --role); icmp --icmp-type --icmp-code
  --icmp-id; icmpv6 --icmpv6-type --icmpv6-code --icmpv6-id; gre --srckey --dstkey --reply-key-src --reply-key-dst;
  -I expect: --tuple-port-src --tuple-port-dst --mask-port-src --mask-port-dst
`;
