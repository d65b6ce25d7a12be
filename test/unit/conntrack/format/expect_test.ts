// deno-fmt-ignore-file -- golden rows from conntrack(8) stay one line each, as captured
/**
 * formatExpect(): golden lines captured from conntrack(8) (conntrack-tools 1.4.7,
 * libnetfilter_conntrack 1.0.9) in a throwaway netns: each row is an expectation as nfct
 * decoded it from a dump (`listExpect()`), and the lines `conntrack -L expect`, `-o xml` and
 * `-E expect` printed for it in the same run. test/kernel/cli_events_test.ts compares the
 * whole CLI against conntrack on live tables.
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { EXPECT_XML_FOOTER, EXPECT_XML_HEADER, type Expectation, formatExpect } from "../../../../mod.ts";

interface Row {
  name: string;
  exp: Expectation;
  plain: string;
  xml?: string;
}

const ONES6 = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
const ROWS: Row[] = [
  {
    name: "tcp, FTP helper, source port wildcard",
    exp: {"family":"ipv4","tuple":{"src":"10.40.1.1","dst":"10.40.0.1","sport":0,"dport":50001},"mask":{"src":"255.255.255.255","dst":"255.255.255.255","sport":0,"dport":65535},"master":{"src":"10.40.0.1","dst":"10.40.1.1","sport":40001,"dport":21,"proto":"tcp"},"timeout":299,"id":1,"flags":[],"class":0,"helper":"ftp","proto":"tcp"},
    plain: "299 proto=6 src=10.40.1.1 dst=10.40.0.1 sport=0 dport=50001 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.40.0.1 master-dst=10.40.1.1 sport=40001 dport=21 class=0 helper=ftp",
    xml: '<flow><layer3 protonum="2" protoname="ipv4"><expected><src>10.40.1.1</src><dst>10.40.0.1</dst></expected><mask><src>255.255.255.255</src><dst>255.255.255.255</dst></mask><master><src>10.40.0.1</src><dst>10.40.1.1</dst></master></layer3><layer4 protonum="6" protoname="tcp"><expected><sport>0</sport><dport>50001</dport></expected><mask><sport>0</sport><dport>65535</dport></mask><master><sport>40001</sport><dport>21</dport></master></layer4><meta><helper-name>ftp</helper-name><timeout>299</timeout><class>0</class></meta></flow>',
  },
  {
    name: "PERMANENT",
    exp: {"family":"ipv4","tuple":{"src":"10.40.1.1","dst":"10.40.0.1","sport":0,"dport":50001},"mask":{"src":"255.255.255.255","dst":"255.255.255.255","sport":0,"dport":65535},"master":{"src":"10.40.0.1","dst":"10.40.1.1","sport":40001,"dport":21,"proto":"tcp"},"timeout":299,"id":4185882593,"flags":["PERMANENT"],"class":0,"helper":"ftp","proto":"tcp"},
    plain: "299 proto=6 src=10.40.1.1 dst=10.40.0.1 sport=0 dport=50001 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.40.0.1 master-dst=10.40.1.1 sport=40001 dport=21 PERMANENT class=0 helper=ftp",
    xml: '<flow><layer3 protonum="2" protoname="ipv4"><expected><src>10.40.1.1</src><dst>10.40.0.1</dst></expected><mask><src>255.255.255.255</src><dst>255.255.255.255</dst></mask><master><src>10.40.0.1</src><dst>10.40.1.1</dst></master></layer3><layer4 protonum="6" protoname="tcp"><expected><sport>0</sport><dport>50001</dport></expected><mask><sport>0</sport><dport>65535</dport></mask><master><sport>40001</sport><dport>21</dport></master></layer4><meta><helper-name>ftp</helper-name><timeout>299</timeout><class>0</class><permanent/></meta></flow>',
  },
  {
    name: "PERMANENT and INACTIVE",
    exp: {"family":"ipv4","tuple":{"src":"10.40.1.1","dst":"10.40.0.2","sport":0,"dport":50002},"mask":{"src":"255.255.255.255","dst":"255.255.255.255","sport":0,"dport":65535},"master":{"src":"10.40.0.2","dst":"10.40.1.1","sport":40002,"dport":21,"proto":"tcp"},"timeout":299,"id":4259125083,"flags":["PERMANENT","INACTIVE"],"class":0,"helper":"ftp","proto":"tcp"},
    plain: "299 proto=6 src=10.40.1.1 dst=10.40.0.2 sport=0 dport=50002 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.40.0.2 master-dst=10.40.1.1 sport=40002 dport=21 PERMANENT,INACTIVE class=0 helper=ftp",
    xml: '<flow><layer3 protonum="2" protoname="ipv4"><expected><src>10.40.1.1</src><dst>10.40.0.2</dst></expected><mask><src>255.255.255.255</src><dst>255.255.255.255</dst></mask><master><src>10.40.0.2</src><dst>10.40.1.1</dst></master></layer3><layer4 protonum="6" protoname="tcp"><expected><sport>0</sport><dport>50002</dport></expected><mask><sport>0</sport><dport>65535</dport></mask><master><sport>40002</sport><dport>21</dport></master></layer4><meta><helper-name>ftp</helper-name><timeout>299</timeout><class>0</class><permanent/><inactive/></meta></flow>',
  },
  {
    name: "NAT and expectfn are not printed; /24 source mask",
    exp: {"family":"ipv4","tuple":{"src":"10.40.1.1","dst":"10.40.0.3","sport":0,"dport":50003},"mask":{"src":"255.255.255.0","dst":"255.255.255.255","sport":0,"dport":65535},"master":{"src":"10.40.0.3","dst":"10.40.1.1","sport":40003,"dport":21,"proto":"tcp"},"nat":{"dir":"reply","tuple":{"src":"1.2.3.4","dst":"0.0.0.0","sport":0,"dport":0}},"timeout":299,"id":1219398299,"flags":[],"class":0,"helper":"ftp","fn":"nat-follow-master","proto":"tcp"},
    plain: "299 proto=6 src=10.40.1.1 dst=10.40.0.3 sport=0 dport=50003 mask-src=255.255.255.0 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.40.0.3 master-dst=10.40.1.1 sport=40003 dport=21 class=0 helper=ftp",
  },
  {
    name: "udp expectation of a tcp master",
    exp: {"family":"ipv4","tuple":{"src":"10.40.1.1","dst":"10.40.0.6","sport":0,"dport":50006},"mask":{"src":"255.255.255.255","dst":"255.255.255.255","sport":0,"dport":65535},"master":{"src":"10.40.0.6","dst":"10.40.1.1","sport":40006,"dport":21,"proto":"tcp"},"timeout":299,"id":1992270698,"flags":[],"class":0,"helper":"ftp","proto":"udp"},
    plain: "299 proto=17 src=10.40.1.1 dst=10.40.0.6 sport=0 dport=50006 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.40.0.6 master-dst=10.40.1.1 sport=40006 dport=21 class=0 helper=ftp",
    xml: '<flow><layer3 protonum="2" protoname="ipv4"><expected><src>10.40.1.1</src><dst>10.40.0.6</dst></expected><mask><src>255.255.255.255</src><dst>255.255.255.255</dst></mask><master><src>10.40.0.6</src><dst>10.40.1.1</dst></master></layer3><layer4 protonum="17" protoname="udp"><expected><sport>0</sport><dport>50006</dport></expected><mask><sport>0</sport><dport>65535</dport></mask><master><sport>40006</sport><dport>21</dport></master></layer4><meta><helper-name>ftp</helper-name><timeout>299</timeout><class>0</class></meta></flow>',
  },
  {
    name: "IPv6",
    exp: {"family":"ipv6","tuple":{"src":"fd00::100","dst":"fd00::5","sport":0,"dport":50005},"mask":{"src":ONES6,"dst":ONES6,"sport":0,"dport":65535},"master":{"src":"fd00::5","dst":"fd00::100","sport":40005,"dport":21,"proto":"tcp"},"timeout":299,"id":3446608771,"flags":[],"class":0,"helper":"ftp","proto":"tcp"},
    plain: "299 proto=6 src=fd00::100 dst=fd00::5 sport=0 dport=50005 mask-src=ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff mask-dst=ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff sport=0 dport=65535 master-src=fd00::5 master-dst=fd00::100 sport=40005 dport=21 class=0 helper=ftp",
    xml: '<flow><layer3 protonum="10" protoname="ipv6"><expected><src>fd00::100</src><dst>fd00::5</dst></expected><mask><src>ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff</src><dst>ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff</dst></mask><master><src>fd00::5</src><dst>fd00::100</dst></master></layer3><layer4 protonum="6" protoname="tcp"><expected><sport>0</sport><dport>50005</dport></expected><mask><sport>0</sport><dport>65535</dport></mask><master><sport>40005</sport><dport>21</dport></master></layer4><meta><helper-name>ftp</helper-name><timeout>299</timeout><class>0</class></meta></flow>',
  },
  {
    name: "conntrack 1.4.7's own -I expect: protocol 195, no ports",
    exp: {"family":"ipv4","tuple":{"src":"10.40.1.1","dst":"10.40.0.2"},"mask":{"src":"255.255.255.255","dst":"255.255.255.255"},"master":{"src":"10.40.0.2","dst":"10.40.1.1","sport":40002,"dport":21,"proto":"tcp"},"timeout":300,"id":7,"flags":[],"class":0,"helper":"ftp","proto":195},
    plain: "300 proto=195 src=10.40.1.1 dst=10.40.0.2 mask-src=255.255.255.255 mask-dst=255.255.255.255 master-src=10.40.0.2 master-dst=10.40.1.1 sport=40002 dport=21 class=0 helper=ftp",
  },
];

for (const row of ROWS) {
  test(`formatExpect() prints what conntrack -L expect prints: ${row.name}`, () => {
    assert.equal(formatExpect(row.exp), row.plain);
    if (row.xml) assert.equal(formatExpect(row.exp, { xml: true }), row.xml);
  });
}

test("formatExpect() events: [NEW]/[DESTROY] padded to 9, XML type=, -o timestamp stamps", () => {
  const e = { ...ROWS[0].exp, timeout: 300 };
  assert.equal(formatExpect(e, { event: "new" }), "    [NEW] " + ROWS[0].plain.replace(/^299/, "300"));
  assert.equal(formatExpect(e, { event: "destroy" }), "[DESTROY] " + ROWS[0].plain.replace(/^299/, "300"));
  assert.match(formatExpect(e, { event: "new", xml: true }), /^<flow type="new"><layer3 /);
  // printf("[%-8ld.%-6ld]\t"): right-padded with spaces, not zero-padded.
  assert.equal(formatExpect(e, { timestamp: true, now: 1795504562085.196 }).slice(0, 20), "[1795504562.85196 ]\t");
  const when = formatExpect(e, { xml: true, timestamp: true, now: Date.UTC(2026, 10, 24, 7, 13, 0) });
  assert.match(when, /<class>0<\/class><when><hour>\d+<\/hour><min>\d\d<\/min><sec>00<\/sec><wday>\d<\/wday><day>\d+<\/day><month>11<\/month><year>2026<\/year><\/when><\/meta><\/flow>$/);
  assert.equal(EXPECT_XML_HEADER, '<?xml version="1.0" encoding="utf-8"?>\n<expect>');
  assert.equal(EXPECT_XML_FOOTER, "</expect>");
});
