// deno-fmt-ignore-file -- golden rows from conntrack(8) stay one line each, as captured
/**
 * formatFlow(): golden lines captured from conntrack(8) (conntrack-tools 1.4.7,
 * libnetfilter_conntrack 1.0.9, kernel 6.18). Each row is a flow as nfct decoded it from a
 * dump, and the lines `conntrack -L`, `-o extended,id`, `-o save`, `-o xml`,
 * `-o extended,ktimestamp` and `-o labels,id` printed for the same entry in the same run
 * (a throwaway netns; /etc/xtables/connlabel.conf as in CONNLABEL_CONF). `now` pins
 * delta-time to what conntrack printed. The capture ran with TZ=UTC: the ktimestamp lines are
 * checked only when the local zone is UTC too.
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Flow, formatFlow, parseConnlabelConf, XML_FOOTER, XML_HEADER } from "../../../../mod.ts";

const CONNLABEL_CONF = "1 one\n3 three\n100 hundred\n";
const LABELS = parseConnlabelConf(CONNLABEL_CONF);

interface Row {
  name: string;
  flow: Flow;
  now: number | undefined;
  lines: { plain: string; ext: string; save: string; xml: string; kts: string; labels: string };
}

// captured 2026-11-24T06:18:23.888Z, TZ offset 0
const ROWS: Row[] = [
  {
    name: "tcp ESTABLISHED, ASSURED, mark",
    flow: {"family":"ipv4","proto":"tcp","orig":{"src":"192.0.2.1","dst":"198.51.100.7","sport":40000,"dport":443},"reply":{"src":"198.51.100.7","dst":"192.0.2.1","sport":443,"dport":40000},"status":["SEEN_REPLY","ASSURED","CONFIRMED"],"mark":42,"id":580653371,"use":1,"timeout":431998,"tcp":{"state":"ESTABLISHED","wscaleOrig":0,"wscaleReply":0,"flagsOrig":{"flags":0,"mask":0},"flagsReply":{"flags":0,"mask":0}},"counters":{"orig":{"packets":0,"bytes":0},"reply":{"packets":0,"bytes":0}},"timestamp":{"start":1795501103747789706n},"synproxy":{"isn":0,"its":0,"tsoff":0}},
    now: 1795501103000,
    lines: {
      "plain": "tcp      6 431998 ESTABLISHED src=192.0.2.1 dst=198.51.100.7 sport=40000 dport=443 packets=0 bytes=0 src=198.51.100.7 dst=192.0.2.1 sport=443 dport=40000 packets=0 bytes=0 [ASSURED] mark=42 delta-time=0 use=1",
      "ext": "ipv4     2 tcp      6 431998 ESTABLISHED src=192.0.2.1 dst=198.51.100.7 sport=40000 dport=443 packets=0 bytes=0 src=198.51.100.7 dst=192.0.2.1 sport=443 dport=40000 packets=0 bytes=0 [ASSURED] mark=42 delta-time=0 use=1 id=580653371",
      "save": "-A -t 431998 -u SEEN_REPLY,ASSURED -s 192.0.2.1 -d 198.51.100.7 -r 198.51.100.7 -q 192.0.2.1 -p tcp --sport 40000 --dport 443 --reply-port-src 443 --reply-port-dst 40000 --state ESTABLISHED",
      "xml": "<flow><meta direction=\"original\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>192.0.2.1</src><dst>198.51.100.7</dst></layer3><layer4 protonum=\"6\" protoname=\"tcp\"><sport>40000</sport><dport>443</dport></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"reply\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>198.51.100.7</src><dst>192.0.2.1</dst></layer3><layer4 protonum=\"6\" protoname=\"tcp\"><sport>443</sport><dport>40000</dport></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"independent\"><state>ESTABLISHED</state><timeout>431998</timeout><mark>42</mark><use>1</use><id>580653371</id><assured/><deltatime>0</deltatime></meta></flow>",
      "kts": "ipv4     2 tcp      6 431998 ESTABLISHED src=192.0.2.1 dst=198.51.100.7 sport=40000 dport=443 packets=0 bytes=0 src=198.51.100.7 dst=192.0.2.1 sport=443 dport=40000 packets=0 bytes=0 [ASSURED] mark=42 delta-time=0 [start=Tue Nov 24 06:18:23 2026] use=1",
      "labels": "tcp      6 431998 ESTABLISHED src=192.0.2.1 dst=198.51.100.7 sport=40000 dport=443 packets=0 bytes=0 src=198.51.100.7 dst=192.0.2.1 sport=443 dport=40000 packets=0 bytes=0 [ASSURED] mark=42 delta-time=0 use=1 id=580653371"
    },
  },
  {
    name: "tcp SYN_SENT2, unreplied",
    flow: {"family":"ipv4","proto":"tcp","orig":{"src":"192.0.2.2","dst":"198.51.100.7","sport":40001,"dport":80},"reply":{"src":"198.51.100.7","dst":"192.0.2.2","sport":80,"dport":40001},"status":["CONFIRMED"],"mark":0,"id":276666004,"use":1,"timeout":119,"tcp":{"state":"SYN_SENT2","wscaleOrig":0,"wscaleReply":0,"flagsOrig":{"flags":0,"mask":0},"flagsReply":{"flags":0,"mask":0}},"counters":{"orig":{"packets":0,"bytes":0},"reply":{"packets":0,"bytes":0}},"timestamp":{"start":1795501103748026349n},"synproxy":{"isn":0,"its":0,"tsoff":0}},
    now: 1795501103000,
    lines: {
      "plain": "tcp      6 119 SYN_SENT2 src=192.0.2.2 dst=198.51.100.7 sport=40001 dport=80 packets=0 bytes=0 [UNREPLIED] src=198.51.100.7 dst=192.0.2.2 sport=80 dport=40001 packets=0 bytes=0 mark=0 delta-time=0 use=1",
      "ext": "ipv4     2 tcp      6 119 SYN_SENT2 src=192.0.2.2 dst=198.51.100.7 sport=40001 dport=80 packets=0 bytes=0 [UNREPLIED] src=198.51.100.7 dst=192.0.2.2 sport=80 dport=40001 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=276666004",
      "save": "-A -t 119 -u UNSET -s 192.0.2.2 -d 198.51.100.7 -r 198.51.100.7 -q 192.0.2.2 -p tcp --sport 40001 --dport 80 --reply-port-src 80 --reply-port-dst 40001 --state SYN_SENT2",
      "xml": "<flow><meta direction=\"original\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>192.0.2.2</src><dst>198.51.100.7</dst></layer3><layer4 protonum=\"6\" protoname=\"tcp\"><sport>40001</sport><dport>80</dport></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"reply\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>198.51.100.7</src><dst>192.0.2.2</dst></layer3><layer4 protonum=\"6\" protoname=\"tcp\"><sport>80</sport><dport>40001</dport></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"independent\"><state>SYN_SENT2</state><timeout>119</timeout><mark>0</mark><use>1</use><id>276666004</id><unreplied/><deltatime>0</deltatime></meta></flow>",
      "kts": "ipv4     2 tcp      6 119 SYN_SENT2 src=192.0.2.2 dst=198.51.100.7 sport=40001 dport=80 packets=0 bytes=0 [UNREPLIED] src=198.51.100.7 dst=192.0.2.2 sport=80 dport=40001 packets=0 bytes=0 mark=0 delta-time=0 [start=Tue Nov 24 06:18:23 2026] use=1",
      "labels": "tcp      6 119 SYN_SENT2 src=192.0.2.2 dst=198.51.100.7 sport=40001 dport=80 packets=0 bytes=0 [UNREPLIED] src=198.51.100.7 dst=192.0.2.2 sport=80 dport=40001 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=276666004"
    },
  },
  {
    name: "udp ipv6, zone 7",
    flow: {"family":"ipv6","proto":"udp","orig":{"src":"2001:db8::3","dst":"2001:db8::53","sport":5353,"dport":53},"reply":{"src":"2001:db8::53","dst":"2001:db8::3","sport":53,"dport":5353},"zone":7,"status":["CONFIRMED"],"mark":0,"id":1658827296,"use":1,"timeout":29,"counters":{"orig":{"packets":0,"bytes":0},"reply":{"packets":0,"bytes":0}},"timestamp":{"start":1795501103748355921n},"synproxy":{"isn":0,"its":0,"tsoff":0}},
    now: 1795501103000,
    lines: {
      "plain": "udp      17 29 src=2001:db8::3 dst=2001:db8::53 sport=5353 dport=53 packets=0 bytes=0 [UNREPLIED] src=2001:db8::53 dst=2001:db8::3 sport=53 dport=5353 packets=0 bytes=0 mark=0 zone=7 delta-time=0 use=1",
      "ext": "ipv6     10 udp      17 29 src=2001:db8::3 dst=2001:db8::53 sport=5353 dport=53 packets=0 bytes=0 [UNREPLIED] src=2001:db8::53 dst=2001:db8::3 sport=53 dport=5353 packets=0 bytes=0 mark=0 zone=7 delta-time=0 use=1 id=1658827296",
      "save": "-A -t 29 -u UNSET -w 7 -s 2001:db8::3 -d 2001:db8::53 -r 2001:db8::53 -q 2001:db8::3 -p udp --sport 5353 --dport 53 --reply-port-src 53 --reply-port-dst 5353",
      "xml": "<flow><meta direction=\"original\"><layer3 protonum=\"10\" protoname=\"ipv6\"><src>2001:db8::3</src><dst>2001:db8::53</dst></layer3><layer4 protonum=\"17\" protoname=\"udp\"><sport>5353</sport><dport>53</dport></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"reply\"><layer3 protonum=\"10\" protoname=\"ipv6\"><src>2001:db8::53</src><dst>2001:db8::3</dst></layer3><layer4 protonum=\"17\" protoname=\"udp\"><sport>53</sport><dport>5353</dport></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"independent\"><timeout>29</timeout><mark>0</mark><zone>7</zone><use>1</use><id>1658827296</id><unreplied/><deltatime>0</deltatime></meta></flow>",
      "kts": "ipv6     10 udp      17 29 src=2001:db8::3 dst=2001:db8::53 sport=5353 dport=53 packets=0 bytes=0 [UNREPLIED] src=2001:db8::53 dst=2001:db8::3 sport=53 dport=5353 packets=0 bytes=0 mark=0 zone=7 delta-time=0 [start=Tue Nov 24 06:18:23 2026] use=1",
      "labels": "udp      17 29 src=2001:db8::3 dst=2001:db8::53 sport=5353 dport=53 packets=0 bytes=0 [UNREPLIED] src=2001:db8::53 dst=2001:db8::3 sport=53 dport=5353 packets=0 bytes=0 mark=0 zone=7 delta-time=0 use=1 id=1658827296"
    },
  },
  {
    name: "udplite, FIXED_TIMEOUT",
    flow: {"family":"ipv4","proto":"udplite","orig":{"src":"192.0.2.4","dst":"198.51.100.8","sport":1,"dport":65535},"reply":{"src":"198.51.100.8","dst":"192.0.2.4","sport":65535,"dport":1},"status":["SEEN_REPLY","CONFIRMED","FIXED_TIMEOUT"],"mark":0,"id":1032001510,"use":1,"timeout":76,"counters":{"orig":{"packets":0,"bytes":0},"reply":{"packets":0,"bytes":0}},"timestamp":{"start":1795501103748407087n},"synproxy":{"isn":0,"its":0,"tsoff":0}},
    now: 1795501103000,
    lines: {
      "plain": "udplite  136 76 src=192.0.2.4 dst=198.51.100.8 sport=1 dport=65535 packets=0 bytes=0 src=198.51.100.8 dst=192.0.2.4 sport=65535 dport=1 packets=0 bytes=0 mark=0 delta-time=0 use=1",
      "ext": "ipv4     2 udplite  136 76 src=192.0.2.4 dst=198.51.100.8 sport=1 dport=65535 packets=0 bytes=0 src=198.51.100.8 dst=192.0.2.4 sport=65535 dport=1 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=1032001510",
      "save": "-A -t 76 -u SEEN_REPLY,FIXED_TIMEOUT -s 192.0.2.4 -d 198.51.100.8 -r 198.51.100.8 -q 192.0.2.4 -p udplite --sport 1 --dport 65535 --reply-port-src 65535 --reply-port-dst 1",
      "xml": "<flow><meta direction=\"original\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>192.0.2.4</src><dst>198.51.100.8</dst></layer3><layer4 protonum=\"136\" protoname=\"udplite\"><sport>1</sport><dport>65535</dport></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"reply\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>198.51.100.8</src><dst>192.0.2.4</dst></layer3><layer4 protonum=\"136\" protoname=\"udplite\"><sport>65535</sport><dport>1</dport></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"independent\"><timeout>76</timeout><mark>0</mark><use>1</use><id>1032001510</id><deltatime>0</deltatime></meta></flow>",
      "kts": "ipv4     2 udplite  136 76 src=192.0.2.4 dst=198.51.100.8 sport=1 dport=65535 packets=0 bytes=0 src=198.51.100.8 dst=192.0.2.4 sport=65535 dport=1 packets=0 bytes=0 mark=0 delta-time=0 [start=Tue Nov 24 06:18:23 2026] use=1",
      "labels": "udplite  136 76 src=192.0.2.4 dst=198.51.100.8 sport=1 dport=65535 packets=0 bytes=0 src=198.51.100.8 dst=192.0.2.4 sport=65535 dport=1 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=1032001510"
    },
  },
  {
    name: "sctp ESTABLISHED with vtags",
    flow: {"family":"ipv4","proto":"sctp","orig":{"src":"192.0.2.5","dst":"198.51.100.9","sport":36412,"dport":36412},"reply":{"src":"198.51.100.9","dst":"192.0.2.5","sport":36412,"dport":36412},"status":["CONFIRMED"],"mark":0,"id":1894986450,"use":1,"timeout":209,"sctp":{"state":"ESTABLISHED","vtagOrig":16909060,"vtagReply":2695938256},"counters":{"orig":{"packets":0,"bytes":0},"reply":{"packets":0,"bytes":0}},"timestamp":{"start":1795501103748469420n},"synproxy":{"isn":0,"its":0,"tsoff":0}},
    now: 1795501103000,
    lines: {
      "plain": "sctp     132 209 ESTABLISHED src=192.0.2.5 dst=198.51.100.9 sport=36412 dport=36412 packets=0 bytes=0 [UNREPLIED] src=198.51.100.9 dst=192.0.2.5 sport=36412 dport=36412 packets=0 bytes=0 mark=0 delta-time=0 use=1",
      "ext": "ipv4     2 sctp     132 209 ESTABLISHED src=192.0.2.5 dst=198.51.100.9 sport=36412 dport=36412 packets=0 bytes=0 [UNREPLIED] src=198.51.100.9 dst=192.0.2.5 sport=36412 dport=36412 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=1894986450",
      "save": "-A -t 209 -u UNSET -s 192.0.2.5 -d 198.51.100.9 -r 198.51.100.9 -q 192.0.2.5 -p sctp --sport 36412 --dport 36412 --reply-port-src 36412 --reply-port-dst 36412 --state ESTABLISHED --orig-vtag 67305985 --reply-vtag 3502289056",
      "xml": "<flow><meta direction=\"original\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>192.0.2.5</src><dst>198.51.100.9</dst></layer3><layer4 protonum=\"132\" protoname=\"sctp\"><sport>36412</sport><dport>36412</dport></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"reply\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>198.51.100.9</src><dst>192.0.2.5</dst></layer3><layer4 protonum=\"132\" protoname=\"sctp\"><sport>36412</sport><dport>36412</dport></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"independent\"><state>FIN_WAIT</state><timeout>209</timeout><mark>0</mark><use>1</use><id>1894986450</id><unreplied/><deltatime>0</deltatime></meta></flow>",
      "kts": "ipv4     2 sctp     132 209 ESTABLISHED src=192.0.2.5 dst=198.51.100.9 sport=36412 dport=36412 packets=0 bytes=0 [UNREPLIED] src=198.51.100.9 dst=192.0.2.5 sport=36412 dport=36412 packets=0 bytes=0 mark=0 delta-time=0 [start=Tue Nov 24 06:18:23 2026] use=1",
      "labels": "sctp     132 209 ESTABLISHED src=192.0.2.5 dst=198.51.100.9 sport=36412 dport=36412 packets=0 bytes=0 [UNREPLIED] src=198.51.100.9 dst=192.0.2.5 sport=36412 dport=36412 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=1894986450"
    },
  },
  {
    name: "sctp HEARTBEAT_SENT",
    flow: {"family":"ipv4","proto":"sctp","orig":{"src":"192.0.2.6","dst":"198.51.100.9","sport":1000,"dport":2000},"reply":{"src":"198.51.100.9","dst":"192.0.2.6","sport":2000,"dport":1000},"status":["CONFIRMED"],"mark":0,"id":2526941186,"use":1,"timeout":209,"sctp":{"state":"HEARTBEAT_SENT","vtagOrig":1,"vtagReply":2},"counters":{"orig":{"packets":0,"bytes":0},"reply":{"packets":0,"bytes":0}},"timestamp":{"start":1795501103748529840n},"synproxy":{"isn":0,"its":0,"tsoff":0}},
    now: 1795501103000,
    lines: {
      "plain": "sctp     132 209 HEARTBEAT_SENT src=192.0.2.6 dst=198.51.100.9 sport=1000 dport=2000 packets=0 bytes=0 [UNREPLIED] src=198.51.100.9 dst=192.0.2.6 sport=2000 dport=1000 packets=0 bytes=0 mark=0 delta-time=0 use=1",
      "ext": "ipv4     2 sctp     132 209 HEARTBEAT_SENT src=192.0.2.6 dst=198.51.100.9 sport=1000 dport=2000 packets=0 bytes=0 [UNREPLIED] src=198.51.100.9 dst=192.0.2.6 sport=2000 dport=1000 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=2526941186",
      // conntrack 1.4.7 prints `--state (null)` here; nfct writes the name so that it parses back (README).
      "save": "-A -t 209 -u UNSET -s 192.0.2.6 -d 198.51.100.9 -r 198.51.100.9 -q 192.0.2.6 -p sctp --sport 1000 --dport 2000 --reply-port-src 2000 --reply-port-dst 1000 --state HEARTBEAT_SENT --orig-vtag 16777216 --reply-vtag 33554432",
      "xml": "<flow><meta direction=\"original\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>192.0.2.6</src><dst>198.51.100.9</dst></layer3><layer4 protonum=\"132\" protoname=\"sctp\"><sport>1000</sport><dport>2000</dport></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"reply\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>198.51.100.9</src><dst>192.0.2.6</dst></layer3><layer4 protonum=\"132\" protoname=\"sctp\"><sport>2000</sport><dport>1000</dport></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"independent\"><state>CLOSE</state><timeout>209</timeout><mark>0</mark><use>1</use><id>2526941186</id><unreplied/><deltatime>0</deltatime></meta></flow>",
      "kts": "ipv4     2 sctp     132 209 HEARTBEAT_SENT src=192.0.2.6 dst=198.51.100.9 sport=1000 dport=2000 packets=0 bytes=0 [UNREPLIED] src=198.51.100.9 dst=192.0.2.6 sport=2000 dport=1000 packets=0 bytes=0 mark=0 delta-time=0 [start=Tue Nov 24 06:18:23 2026] use=1",
      "labels": "sctp     132 209 HEARTBEAT_SENT src=192.0.2.6 dst=198.51.100.9 sport=1000 dport=2000 packets=0 bytes=0 [UNREPLIED] src=198.51.100.9 dst=192.0.2.6 sport=2000 dport=1000 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=2526941186"
    },
  },
  {
    name: "icmp echo",
    flow: {"family":"ipv4","proto":"icmp","orig":{"src":"192.0.2.7","dst":"198.51.100.1","id":4660,"type":8,"code":0},"reply":{"src":"198.51.100.1","dst":"192.0.2.7","id":4660,"type":0,"code":0},"status":["CONFIRMED"],"mark":0,"id":3407131981,"use":1,"timeout":28,"counters":{"orig":{"packets":0,"bytes":0},"reply":{"packets":0,"bytes":0}},"timestamp":{"start":1795501103748603350n},"synproxy":{"isn":0,"its":0,"tsoff":0}},
    now: 1795501103000,
    lines: {
      "plain": "icmp     1 28 src=192.0.2.7 dst=198.51.100.1 type=8 code=0 id=4660 packets=0 bytes=0 [UNREPLIED] src=198.51.100.1 dst=192.0.2.7 type=0 code=0 id=4660 packets=0 bytes=0 mark=0 delta-time=0 use=1",
      "ext": "ipv4     2 icmp     1 28 src=192.0.2.7 dst=198.51.100.1 type=8 code=0 id=4660 packets=0 bytes=0 [UNREPLIED] src=198.51.100.1 dst=192.0.2.7 type=0 code=0 id=4660 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=3407131981",
      "save": "-A -t 28 -u UNSET -s 192.0.2.7 -d 198.51.100.1 -r 198.51.100.1 -q 192.0.2.7 -p icmp --icmp-type 8 --icmp-code 0 --icmp-id 4660",
      "xml": "<flow><meta direction=\"original\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>192.0.2.7</src><dst>198.51.100.1</dst></layer3><layer4 protonum=\"1\" protoname=\"icmp\"></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"reply\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>198.51.100.1</src><dst>192.0.2.7</dst></layer3><layer4 protonum=\"1\" protoname=\"icmp\"></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"independent\"><timeout>28</timeout><mark>0</mark><use>1</use><id>3407131981</id><unreplied/><deltatime>0</deltatime></meta></flow>",
      "kts": "ipv4     2 icmp     1 28 src=192.0.2.7 dst=198.51.100.1 type=8 code=0 id=4660 packets=0 bytes=0 [UNREPLIED] src=198.51.100.1 dst=192.0.2.7 type=0 code=0 id=4660 packets=0 bytes=0 mark=0 delta-time=0 [start=Tue Nov 24 06:18:23 2026] use=1",
      "labels": "icmp     1 28 src=192.0.2.7 dst=198.51.100.1 type=8 code=0 id=4660 packets=0 bytes=0 [UNREPLIED] src=198.51.100.1 dst=192.0.2.7 type=0 code=0 id=4660 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=3407131981"
    },
  },
  {
    name: "icmpv6 echo, mapped address",
    flow: {"family":"ipv6","proto":"icmpv6","orig":{"src":"::ffff:192.0.2.8","dst":"::1","id":1,"type":128,"code":0},"reply":{"src":"::1","dst":"::ffff:192.0.2.8","id":1,"type":129,"code":0},"status":["CONFIRMED"],"mark":0,"id":3299638027,"use":1,"timeout":28,"counters":{"orig":{"packets":0,"bytes":0},"reply":{"packets":0,"bytes":0}},"timestamp":{"start":1795501103748667956n},"synproxy":{"isn":0,"its":0,"tsoff":0}},
    now: 1795501103000,
    lines: {
      "plain": "icmpv6   58 28 src=::ffff:192.0.2.8 dst=::1 type=128 code=0 id=1 packets=0 bytes=0 [UNREPLIED] src=::1 dst=::ffff:192.0.2.8 type=129 code=0 id=1 packets=0 bytes=0 mark=0 delta-time=0 use=1",
      "ext": "ipv6     10 icmpv6   58 28 src=::ffff:192.0.2.8 dst=::1 type=128 code=0 id=1 packets=0 bytes=0 [UNREPLIED] src=::1 dst=::ffff:192.0.2.8 type=129 code=0 id=1 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=3299638027",
      "save": "-A -t 28 -u UNSET -s ::ffff:192.0.2.8 -d ::1 -r ::1 -q ::ffff:192.0.2.8 -p icmpv6 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 1",
      "xml": "<flow><meta direction=\"original\"><layer3 protonum=\"10\" protoname=\"ipv6\"><src>::ffff:192.0.2.8</src><dst>::1</dst></layer3><layer4 protonum=\"58\" protoname=\"icmpv6\"></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"reply\"><layer3 protonum=\"10\" protoname=\"ipv6\"><src>::1</src><dst>::ffff:192.0.2.8</dst></layer3><layer4 protonum=\"58\" protoname=\"icmpv6\"></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"independent\"><timeout>28</timeout><mark>0</mark><use>1</use><id>3299638027</id><unreplied/><deltatime>0</deltatime></meta></flow>",
      "kts": "ipv6     10 icmpv6   58 28 src=::ffff:192.0.2.8 dst=::1 type=128 code=0 id=1 packets=0 bytes=0 [UNREPLIED] src=::1 dst=::ffff:192.0.2.8 type=129 code=0 id=1 packets=0 bytes=0 mark=0 delta-time=0 [start=Tue Nov 24 06:18:23 2026] use=1",
      "labels": "icmpv6   58 28 src=::ffff:192.0.2.8 dst=::1 type=128 code=0 id=1 packets=0 bytes=0 [UNREPLIED] src=::1 dst=::ffff:192.0.2.8 type=129 code=0 id=1 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=3299638027"
    },
  },
  {
    name: "gre keys in hex",
    flow: {"family":"ipv4","proto":"gre","orig":{"src":"192.0.2.9","dst":"198.51.100.2","srcKey":2748,"dstKey":0},"reply":{"src":"198.51.100.2","dst":"192.0.2.9","srcKey":0,"dstKey":2748},"status":["CONFIRMED"],"mark":0,"id":327809403,"use":1,"timeout":179,"counters":{"orig":{"packets":0,"bytes":0},"reply":{"packets":0,"bytes":0}},"timestamp":{"start":1795501103748731871n},"synproxy":{"isn":0,"its":0,"tsoff":0}},
    now: 1795501103000,
    lines: {
      "plain": "gre      47 179 src=192.0.2.9 dst=198.51.100.2 srckey=0xabc dstkey=0x0 packets=0 bytes=0 [UNREPLIED] src=198.51.100.2 dst=192.0.2.9 srckey=0x0 dstkey=0xabc packets=0 bytes=0 mark=0 delta-time=0 use=1",
      "ext": "ipv4     2 gre      47 179 src=192.0.2.9 dst=198.51.100.2 srckey=0xabc dstkey=0x0 packets=0 bytes=0 [UNREPLIED] src=198.51.100.2 dst=192.0.2.9 srckey=0x0 dstkey=0xabc packets=0 bytes=0 mark=0 delta-time=0 use=1 id=327809403",
      "save": "-A -t 179 -u UNSET -s 192.0.2.9 -d 198.51.100.2 -r 198.51.100.2 -q 192.0.2.9 -p gre --srckey 2748 --dstkey 0 --reply-key-src 0 --reply-key-dst 2748",
      "xml": "<flow><meta direction=\"original\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>192.0.2.9</src><dst>198.51.100.2</dst></layer3><layer4 protonum=\"47\" protoname=\"gre\"><srckey>0xabc</srckey><dstkey>0x0</dstkey></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"reply\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>198.51.100.2</src><dst>192.0.2.9</dst></layer3><layer4 protonum=\"47\" protoname=\"gre\"><srckey>0x0</srckey><dstkey>0xabc</dstkey></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"independent\"><timeout>179</timeout><mark>0</mark><use>1</use><id>327809403</id><unreplied/><deltatime>0</deltatime></meta></flow>",
      "kts": "ipv4     2 gre      47 179 src=192.0.2.9 dst=198.51.100.2 srckey=0xabc dstkey=0x0 packets=0 bytes=0 [UNREPLIED] src=198.51.100.2 dst=192.0.2.9 srckey=0x0 dstkey=0xabc packets=0 bytes=0 mark=0 delta-time=0 [start=Tue Nov 24 06:18:23 2026] use=1",
      "labels": "gre      47 179 src=192.0.2.9 dst=198.51.100.2 srckey=0xabc dstkey=0x0 packets=0 bytes=0 [UNREPLIED] src=198.51.100.2 dst=192.0.2.9 srckey=0x0 dstkey=0xabc packets=0 bytes=0 mark=0 delta-time=0 use=1 id=327809403"
    },
  },
  {
    name: "unknown protocol 99",
    flow: {"family":"ipv4","proto":99,"orig":{"src":"192.0.2.10","dst":"198.51.100.3"},"reply":{"src":"198.51.100.3","dst":"192.0.2.10"},"status":["CONFIRMED"],"mark":0,"id":2809599273,"use":1,"timeout":599,"counters":{"orig":{"packets":0,"bytes":0},"reply":{"packets":0,"bytes":0}},"timestamp":{"start":1795501103748818250n},"synproxy":{"isn":0,"its":0,"tsoff":0}},
    now: 1795501103000,
    lines: {
      "plain": "unknown  99 599 src=192.0.2.10 dst=198.51.100.3 packets=0 bytes=0 [UNREPLIED] src=198.51.100.3 dst=192.0.2.10 packets=0 bytes=0 mark=0 delta-time=0 use=1",
      "ext": "ipv4     2 unknown  99 599 src=192.0.2.10 dst=198.51.100.3 packets=0 bytes=0 [UNREPLIED] src=198.51.100.3 dst=192.0.2.10 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=2809599273",
      "save": "-A -t 599 -u UNSET -s 192.0.2.10 -d 198.51.100.3 -r 198.51.100.3 -q 192.0.2.10 -p 99",
      "xml": "<flow><meta direction=\"original\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>192.0.2.10</src><dst>198.51.100.3</dst></layer3><layer4 protonum=\"99\" protoname=\"unknown\"></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"reply\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>198.51.100.3</src><dst>192.0.2.10</dst></layer3><layer4 protonum=\"99\" protoname=\"unknown\"></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"independent\"><timeout>599</timeout><mark>0</mark><use>1</use><id>2809599273</id><unreplied/><deltatime>0</deltatime></meta></flow>",
      "kts": "ipv4     2 unknown  99 599 src=192.0.2.10 dst=198.51.100.3 packets=0 bytes=0 [UNREPLIED] src=198.51.100.3 dst=192.0.2.10 packets=0 bytes=0 mark=0 delta-time=0 [start=Tue Nov 24 06:18:23 2026] use=1",
      "labels": "unknown  99 599 src=192.0.2.10 dst=198.51.100.3 packets=0 bytes=0 [UNREPLIED] src=198.51.100.3 dst=192.0.2.10 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=2809599273"
    },
  },
  {
    name: "dccp tracked generically: no ports",
    flow: {"family":"ipv4","proto":"dccp","orig":{"src":"192.0.2.11","dst":"198.51.100.4"},"reply":{"src":"198.51.100.4","dst":"192.0.2.11"},"status":["CONFIRMED"],"mark":0,"id":2232872238,"use":1,"timeout":599,"counters":{"orig":{"packets":0,"bytes":0},"reply":{"packets":0,"bytes":0}},"timestamp":{"start":1795501103748857899n},"synproxy":{"isn":0,"its":0,"tsoff":0}},
    now: 1795501103000,
    lines: {
      "plain": "dccp     33 599 src=192.0.2.11 dst=198.51.100.4 sport=0 dport=0 packets=0 bytes=0 [UNREPLIED] src=198.51.100.4 dst=192.0.2.11 sport=0 dport=0 packets=0 bytes=0 mark=0 delta-time=0 use=1",
      "ext": "ipv4     2 dccp     33 599 src=192.0.2.11 dst=198.51.100.4 sport=0 dport=0 packets=0 bytes=0 [UNREPLIED] src=198.51.100.4 dst=192.0.2.11 sport=0 dport=0 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=2232872238",
      "save": "-A -t 599 -u UNSET -s 192.0.2.11 -d 198.51.100.4 -r 198.51.100.4 -q 192.0.2.11 -p dccp",
      "xml": "<flow><meta direction=\"original\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>192.0.2.11</src><dst>198.51.100.4</dst></layer3><layer4 protonum=\"33\" protoname=\"dccp\"><sport>0</sport><dport>0</dport></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"reply\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>198.51.100.4</src><dst>192.0.2.11</dst></layer3><layer4 protonum=\"33\" protoname=\"dccp\"><sport>0</sport><dport>0</dport></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"independent\"><timeout>599</timeout><mark>0</mark><use>1</use><id>2232872238</id><unreplied/><deltatime>0</deltatime></meta></flow>",
      "kts": "ipv4     2 dccp     33 599 src=192.0.2.11 dst=198.51.100.4 sport=0 dport=0 packets=0 bytes=0 [UNREPLIED] src=198.51.100.4 dst=192.0.2.11 sport=0 dport=0 packets=0 bytes=0 mark=0 delta-time=0 [start=Tue Nov 24 06:18:23 2026] use=1",
      "labels": "dccp     33 599 src=192.0.2.11 dst=198.51.100.4 sport=0 dport=0 packets=0 bytes=0 [UNREPLIED] src=198.51.100.4 dst=192.0.2.11 sport=0 dport=0 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=2232872238"
    },
  },
  {
    name: "orig zone",
    flow: {"family":"ipv4","proto":"udp","orig":{"src":"192.0.2.12","dst":"198.51.100.5","sport":1,"dport":2,"zone":3},"reply":{"src":"198.51.100.5","dst":"192.0.2.12","sport":2,"dport":1},"status":["CONFIRMED"],"mark":0,"id":1022265824,"use":1,"timeout":29,"counters":{"orig":{"packets":0,"bytes":0},"reply":{"packets":0,"bytes":0}},"timestamp":{"start":1795501103748890538n},"synproxy":{"isn":0,"its":0,"tsoff":0}},
    now: 1795501103000,
    lines: {
      "plain": "udp      17 29 src=192.0.2.12 dst=198.51.100.5 sport=1 dport=2 zone-orig=3 packets=0 bytes=0 [UNREPLIED] src=198.51.100.5 dst=192.0.2.12 sport=2 dport=1 packets=0 bytes=0 mark=0 delta-time=0 use=1",
      "ext": "ipv4     2 udp      17 29 src=192.0.2.12 dst=198.51.100.5 sport=1 dport=2 zone-orig=3 packets=0 bytes=0 [UNREPLIED] src=198.51.100.5 dst=192.0.2.12 sport=2 dport=1 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=1022265824",
      "save": "-A -t 29 -u UNSET --orig-zone 3 -s 192.0.2.12 -d 198.51.100.5 -r 198.51.100.5 -q 192.0.2.12 -p udp --sport 1 --dport 2 --reply-port-src 2 --reply-port-dst 1",
      "xml": "<flow><meta direction=\"original\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>192.0.2.12</src><dst>198.51.100.5</dst></layer3><layer4 protonum=\"17\" protoname=\"udp\"><sport>1</sport><dport>2</dport></layer4><zone>3</zone><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"reply\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>198.51.100.5</src><dst>192.0.2.12</dst></layer3><layer4 protonum=\"17\" protoname=\"udp\"><sport>2</sport><dport>1</dport></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"independent\"><timeout>29</timeout><mark>0</mark><use>1</use><id>1022265824</id><unreplied/><deltatime>0</deltatime></meta></flow>",
      "kts": "ipv4     2 udp      17 29 src=192.0.2.12 dst=198.51.100.5 sport=1 dport=2 zone-orig=3 packets=0 bytes=0 [UNREPLIED] src=198.51.100.5 dst=192.0.2.12 sport=2 dport=1 packets=0 bytes=0 mark=0 delta-time=0 [start=Tue Nov 24 06:18:23 2026] use=1",
      "labels": "udp      17 29 src=192.0.2.12 dst=198.51.100.5 sport=1 dport=2 zone-orig=3 packets=0 bytes=0 [UNREPLIED] src=198.51.100.5 dst=192.0.2.12 sport=2 dport=1 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=1022265824"
    },
  },
  {
    name: "reply zone",
    flow: {"family":"ipv4","proto":"tcp","orig":{"src":"192.0.2.13","dst":"198.51.100.5","sport":1,"dport":2},"reply":{"src":"198.51.100.5","dst":"192.0.2.13","sport":2,"dport":1,"zone":65535},"status":["CONFIRMED"],"mark":0,"id":1494932626,"use":1,"timeout":29,"tcp":{"state":"TIME_WAIT","wscaleOrig":0,"wscaleReply":0,"flagsOrig":{"flags":0,"mask":0},"flagsReply":{"flags":0,"mask":0}},"counters":{"orig":{"packets":0,"bytes":0},"reply":{"packets":0,"bytes":0}},"timestamp":{"start":1795501103748932501n},"synproxy":{"isn":0,"its":0,"tsoff":0}},
    now: 1795501103000,
    lines: {
      "plain": "tcp      6 29 TIME_WAIT src=192.0.2.13 dst=198.51.100.5 sport=1 dport=2 packets=0 bytes=0 [UNREPLIED] src=198.51.100.5 dst=192.0.2.13 sport=2 dport=1 zone-reply=65535 packets=0 bytes=0 mark=0 delta-time=0 use=1",
      "ext": "ipv4     2 tcp      6 29 TIME_WAIT src=192.0.2.13 dst=198.51.100.5 sport=1 dport=2 packets=0 bytes=0 [UNREPLIED] src=198.51.100.5 dst=192.0.2.13 sport=2 dport=1 zone-reply=65535 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=1494932626",
      "save": "-A -t 29 -u UNSET --reply-zone 65535 -s 192.0.2.13 -d 198.51.100.5 -r 198.51.100.5 -q 192.0.2.13 -p tcp --sport 1 --dport 2 --reply-port-src 2 --reply-port-dst 1 --state TIME_WAIT",
      "xml": "<flow><meta direction=\"original\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>192.0.2.13</src><dst>198.51.100.5</dst></layer3><layer4 protonum=\"6\" protoname=\"tcp\"><sport>1</sport><dport>2</dport></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"reply\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>198.51.100.5</src><dst>192.0.2.13</dst></layer3><layer4 protonum=\"6\" protoname=\"tcp\"><sport>2</sport><dport>1</dport></layer4><zone>65535</zone><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"independent\"><state>TIME_WAIT</state><timeout>29</timeout><mark>0</mark><use>1</use><id>1494932626</id><unreplied/><deltatime>0</deltatime></meta></flow>",
      "kts": "ipv4     2 tcp      6 29 TIME_WAIT src=192.0.2.13 dst=198.51.100.5 sport=1 dport=2 packets=0 bytes=0 [UNREPLIED] src=198.51.100.5 dst=192.0.2.13 sport=2 dport=1 zone-reply=65535 packets=0 bytes=0 mark=0 delta-time=0 [start=Tue Nov 24 06:18:23 2026] use=1",
      "labels": "tcp      6 29 TIME_WAIT src=192.0.2.13 dst=198.51.100.5 sport=1 dport=2 packets=0 bytes=0 [UNREPLIED] src=198.51.100.5 dst=192.0.2.13 sport=2 dport=1 zone-reply=65535 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=1494932626"
    },
  },
  {
    name: "labels: named and unnamed bits",
    flow: {"family":"ipv4","proto":"udp","orig":{"src":"192.0.2.14","dst":"198.51.100.6","sport":1,"dport":2},"reply":{"src":"198.51.100.6","dst":"192.0.2.14","sport":2,"dport":1},"status":["CONFIRMED"],"mark":0,"id":1791781045,"use":1,"timeout":29,"counters":{"orig":{"packets":0,"bytes":0},"reply":{"packets":0,"bytes":0}},"timestamp":{"start":1795501103749068904n},"labels":[1,2,100,127],"synproxy":{"isn":0,"its":0,"tsoff":0}},
    now: 1795501103000,
    lines: {
      "plain": "udp      17 29 src=192.0.2.14 dst=198.51.100.6 sport=1 dport=2 packets=0 bytes=0 [UNREPLIED] src=198.51.100.6 dst=192.0.2.14 sport=2 dport=1 packets=0 bytes=0 mark=0 delta-time=0 use=1",
      "ext": "ipv4     2 udp      17 29 src=192.0.2.14 dst=198.51.100.6 sport=1 dport=2 packets=0 bytes=0 [UNREPLIED] src=198.51.100.6 dst=192.0.2.14 sport=2 dport=1 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=1791781045",
      "save": "-A -t 29 -u UNSET -s 192.0.2.14 -d 198.51.100.6 -r 198.51.100.6 -q 192.0.2.14 -p udp --sport 1 --dport 2 --reply-port-src 2 --reply-port-dst 1",
      "xml": "<flow><meta direction=\"original\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>192.0.2.14</src><dst>198.51.100.6</dst></layer3><layer4 protonum=\"17\" protoname=\"udp\"><sport>1</sport><dport>2</dport></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"reply\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>198.51.100.6</src><dst>192.0.2.14</dst></layer3><layer4 protonum=\"17\" protoname=\"udp\"><sport>2</sport><dport>1</dport></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"independent\"><timeout>29</timeout><mark>0</mark><use>1</use><id>1791781045</id><unreplied/><deltatime>0</deltatime></meta></flow>",
      "kts": "ipv4     2 udp      17 29 src=192.0.2.14 dst=198.51.100.6 sport=1 dport=2 packets=0 bytes=0 [UNREPLIED] src=198.51.100.6 dst=192.0.2.14 sport=2 dport=1 packets=0 bytes=0 mark=0 delta-time=0 [start=Tue Nov 24 06:18:23 2026] use=1",
      "labels": "udp      17 29 src=192.0.2.14 dst=198.51.100.6 sport=1 dport=2 packets=0 bytes=0 [UNREPLIED] src=198.51.100.6 dst=192.0.2.14 sport=2 dport=1 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=1791781045 labels=one,hundred"
    },
  },
  {
    name: "labels: only unnamed bits",
    flow: {"family":"ipv4","proto":"udp","orig":{"src":"192.0.2.15","dst":"198.51.100.6","sport":1,"dport":2},"reply":{"src":"198.51.100.6","dst":"192.0.2.15","sport":2,"dport":1},"status":["CONFIRMED"],"mark":0,"id":3053060310,"use":1,"timeout":29,"counters":{"orig":{"packets":0,"bytes":0},"reply":{"packets":0,"bytes":0}},"timestamp":{"start":1795501103749097356n},"labels":[5],"synproxy":{"isn":0,"its":0,"tsoff":0}},
    now: 1795501103000,
    lines: {
      "plain": "udp      17 29 src=192.0.2.15 dst=198.51.100.6 sport=1 dport=2 packets=0 bytes=0 [UNREPLIED] src=198.51.100.6 dst=192.0.2.15 sport=2 dport=1 packets=0 bytes=0 mark=0 delta-time=0 use=1",
      "ext": "ipv4     2 udp      17 29 src=192.0.2.15 dst=198.51.100.6 sport=1 dport=2 packets=0 bytes=0 [UNREPLIED] src=198.51.100.6 dst=192.0.2.15 sport=2 dport=1 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=3053060310",
      "save": "-A -t 29 -u UNSET -s 192.0.2.15 -d 198.51.100.6 -r 198.51.100.6 -q 192.0.2.15 -p udp --sport 1 --dport 2 --reply-port-src 2 --reply-port-dst 1",
      "xml": "<flow><meta direction=\"original\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>192.0.2.15</src><dst>198.51.100.6</dst></layer3><layer4 protonum=\"17\" protoname=\"udp\"><sport>1</sport><dport>2</dport></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"reply\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>198.51.100.6</src><dst>192.0.2.15</dst></layer3><layer4 protonum=\"17\" protoname=\"udp\"><sport>2</sport><dport>1</dport></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"independent\"><timeout>29</timeout><mark>0</mark><use>1</use><id>3053060310</id><unreplied/><deltatime>0</deltatime></meta></flow>",
      "kts": "ipv4     2 udp      17 29 src=192.0.2.15 dst=198.51.100.6 sport=1 dport=2 packets=0 bytes=0 [UNREPLIED] src=198.51.100.6 dst=192.0.2.15 sport=2 dport=1 packets=0 bytes=0 mark=0 delta-time=0 [start=Tue Nov 24 06:18:23 2026] use=1",
      "labels": "udp      17 29 src=192.0.2.15 dst=198.51.100.6 sport=1 dport=2 packets=0 bytes=0 [UNREPLIED] src=198.51.100.6 dst=192.0.2.15 sport=2 dport=1 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=3053060310 labels"
    },
  },
  {
    name: "real packet: counters, timestamp, label",
    flow: {"family":"ipv4","proto":"udp","orig":{"src":"127.0.0.1","dst":"127.0.0.1","sport":43377,"dport":9999},"reply":{"src":"127.0.0.1","dst":"127.0.0.1","sport":9999,"dport":43377},"status":["CONFIRMED"],"mark":0,"id":1476395716,"use":1,"timeout":29,"counters":{"orig":{"packets":1,"bytes":33},"reply":{"packets":0,"bytes":0}},"timestamp":{"start":1795501103751010941n},"labels":[100]},
    now: 1795501103000,
    lines: {
      "plain": "udp      17 29 src=127.0.0.1 dst=127.0.0.1 sport=43377 dport=9999 packets=1 bytes=33 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=9999 dport=43377 packets=0 bytes=0 mark=0 delta-time=0 use=1",
      "ext": "ipv4     2 udp      17 29 src=127.0.0.1 dst=127.0.0.1 sport=43377 dport=9999 packets=1 bytes=33 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=9999 dport=43377 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=1476395716",
      "save": "-A -t 29 -u UNSET -s 127.0.0.1 -d 127.0.0.1 -r 127.0.0.1 -q 127.0.0.1 -p udp --sport 43377 --dport 9999 --reply-port-src 9999 --reply-port-dst 43377",
      "xml": "<flow><meta direction=\"original\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>127.0.0.1</src><dst>127.0.0.1</dst></layer3><layer4 protonum=\"17\" protoname=\"udp\"><sport>43377</sport><dport>9999</dport></layer4><counters><packets>1</packets><bytes>33</bytes></counters></meta><meta direction=\"reply\"><layer3 protonum=\"2\" protoname=\"ipv4\"><src>127.0.0.1</src><dst>127.0.0.1</dst></layer3><layer4 protonum=\"17\" protoname=\"udp\"><sport>9999</sport><dport>43377</dport></layer4><counters><packets>0</packets><bytes>0</bytes></counters></meta><meta direction=\"independent\"><timeout>29</timeout><mark>0</mark><use>1</use><id>1476395716</id><unreplied/><deltatime>0</deltatime></meta></flow>",
      "kts": "ipv4     2 udp      17 29 src=127.0.0.1 dst=127.0.0.1 sport=43377 dport=9999 packets=1 bytes=33 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=9999 dport=43377 packets=0 bytes=0 mark=0 delta-time=0 [start=Tue Nov 24 06:18:23 2026] use=1",
      "labels": "udp      17 29 src=127.0.0.1 dst=127.0.0.1 sport=43377 dport=9999 packets=1 bytes=33 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=9999 dport=43377 packets=0 bytes=0 mark=0 delta-time=0 use=1 id=1476395716 labels=hundred"
    },
  },
];

const utc = new Date(0).getTimezoneOffset() === 0 && new Date().getTimezoneOffset() === 0;

for (const r of ROWS) {
  test(`formatFlow() prints conntrack's lines for: ${r.name}`, () => {
    const o = { now: r.now };
    assert.equal(formatFlow(r.flow, o), r.lines.plain, "conntrack -L");
    assert.equal(formatFlow(r.flow, { ...o, extended: true, id: true }), r.lines.ext, "-o extended,id");
    assert.equal(formatFlow(r.flow, { ...o, save: true }), r.lines.save, "-o save");
    assert.equal(formatFlow(r.flow, { ...o, xml: true }), r.lines.xml, "-o xml");
    assert.equal(formatFlow(r.flow, { ...o, labels: LABELS, id: true }), r.lines.labels, "-o labels,id");
    if (utc) assert.equal(formatFlow(r.flow, { ...o, extended: true, ktimestamp: true }), r.lines.kts, "-o extended,ktimestamp");
  });
}

// Rows the kernel cannot produce on demand (userspace may not set the offload bits; events
// need traffic at a known instant): expected text derived from snprintf_default.c/conntrack.c.
const BASE: Flow = {
  family: "ipv4",
  proto: "udp",
  orig: { src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2 },
  reply: { src: "10.0.0.2", dst: "10.0.0.1", sport: 2, dport: 1 },
  status: ["SEEN_REPLY", "ASSURED", "CONFIRMED"],
  timeout: 5,
  mark: 0,
  use: 1,
  id: 9,
};
const TAIL = "src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1";

const DERIVED: [string, Flow, Parameters<typeof formatFlow>[1], string][] = [
  ["[OFFLOAD] replaces [ASSURED]", { ...BASE, status: ["SEEN_REPLY", "ASSURED", "OFFLOAD"] }, {}, `udp      17 5 ${TAIL} [OFFLOAD] mark=0 use=1`],
  ["[HW_OFFLOAD] wins over [OFFLOAD]", { ...BASE, status: ["ASSURED", "OFFLOAD", "HW_OFFLOAD"] }, {}, `udp      17 5 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1 [HW_OFFLOAD] mark=0 use=1`],
  ["no status: neither marker", { ...BASE, status: undefined }, {}, `udp      17 5 ${TAIL} mark=0 use=1`],
  ["secmark, secctx, helper in libnetfilter_conntrack's order", { ...BASE, secmark: 3, secctx: "system_u:object_r:x:s0", helper: "ftp", zone: 2 }, { id: true }, `udp      17 5 ${TAIL} [ASSURED] mark=0 secmark=3 secctx=system_u:object_r:x:s0 zone=2 helper=ftp use=1 id=9`],
  ["-E prefix [NEW], padded to 9", BASE, { event: "new" }, `    [NEW] udp      17 5 ${TAIL} [ASSURED] mark=0 use=1`],
  ["-E -o timestamp: [sec.usec] then a tab", BASE, { event: "destroy", timestamp: true, now: 1700000000123.456 }, `[1700000000.123456]\t[DESTROY] udp      17 5 ${TAIL} [ASSURED] mark=0 use=1`],
  ["-E -o save: -U", BASE, { event: "update", save: true }, "-U -t 5 -u SEEN_REPLY,ASSURED -s 10.0.0.1 -d 10.0.0.2 -r 10.0.0.2 -q 10.0.0.1 -p udp --sport 1 --dport 2 --reply-port-src 2 --reply-port-dst 1"],
  ["-o save names DNAT/SNAT replies -g/-n (IPv4)", { ...BASE, status: ["SEEN_REPLY", "SRC_NAT_DONE", "DST_NAT_DONE"], reply: { src: "10.9.9.9", dst: "10.8.8.8", sport: 2, dport: 1 } }, { save: true }, "-A -t 5 -u SEEN_REPLY -s 10.0.0.1 -d 10.0.0.2 -g 10.9.9.9 -n 10.8.8.8 -p udp --sport 1 --dport 2 --reply-port-src 2 --reply-port-dst 1"],
  ["stopped timestamp: delta-time is stop - start", { ...BASE, timestamp: { start: 1_000_000_000_000_000_000n, stop: 1_000_000_042_900_000_000n } }, {}, `udp      17 5 ${TAIL} [ASSURED] mark=0 delta-time=42 use=1`],
];

for (const [name, flow, options, want] of DERIVED) {
  test(`formatFlow(): ${name}`, () => {
    assert.equal(formatFlow(flow, options), want);
  });
}

test("formatFlow() leaves labels out without a map, or with an empty one, as conntrack does", () => {
  const f: Flow = { ...BASE, labels: [1] };
  assert.equal(formatFlow(f), `udp      17 5 ${TAIL} [ASSURED] mark=0 use=1`);
  assert.equal(formatFlow(f, { labels: new Map() }), `udp      17 5 ${TAIL} [ASSURED] mark=0 use=1`);
  assert.equal(formatFlow(f, { labels: LABELS }), `udp      17 5 ${TAIL} [ASSURED] mark=0 use=1 labels=one`);
});

test("XML_HEADER and XML_FOOTER are the lines conntrack -o xml wraps flows in", () => {
  assert.equal(XML_HEADER, '<?xml version="1.0" encoding="utf-8"?>\n<conntrack>');
  assert.equal(XML_FOOTER, "</conntrack>");
});

const CONF_CASES: [string, string, [number, string][]][] = [
  ["plain lines", "0 zero\n1 one\n", [[0, "zero"], [1, "one"]]],
  ["comments, blank and junk lines skipped", "# c\n\nfoo\n2 two\n", [[2, "two"]]],
  ["C notation: hex and octal", "0x10 sixteen\n010 eight\n", [[16, "sixteen"], [8, "eight"]]],
  ["spaces trimmed, inner spaces and dashes kept", "  3 \t a b-c \t\n", [[3, "a b-c"]]],
  ["first line for a bit wins", "4 first\n4 second\n", [[4, "first"]]],
  ["a duplicate name is ignored, its bit stays free", "5 x\n6 x\n6 y\n", [[5, "x"], [6, "y"]]],
  ["insane names and bits >= 1024 refused", "7 a;b\n1024 big\n1023 ok\n", [[1023, "ok"]]],
];

for (const [name, text, want] of CONF_CASES) {
  test(`parseConnlabelConf(): ${name}`, () => {
    assert.deepEqual([...parseConnlabelConf(text)], want);
  });
}
