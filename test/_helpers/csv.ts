/**
 * Reading `-o csv` back: an RFC 4180 parser (quoted cells with doubled quotes, commas and line
 * breaks inside quotes; LF or CRLF line ends), and the cells a JSON line should give.
 * @module
 */

/** The records of CSV `text`, each a list of cells. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], cell = "", quoted = false, i = 0;
  const endCell = () => {
    row.push(cell);
    cell = "";
  };
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 2;
        continue;
      }
      if (ch === '"') quoted = false;
      else cell += ch;
      i++;
      continue;
    }
    if (ch === '"' && cell === "") quoted = true;
    else if (ch === ",") endCell();
    else if (ch === "\n" || (ch === "\r" && text[i + 1] === "\n")) {
      endCell();
      rows.push(row);
      row = [];
      if (ch === "\r") i++;
    } else cell += ch;
    i++;
  }
  if (quoted) throw new Error("CSV ends inside a quoted cell");
  if (cell !== "" || row.length) {
    endCell();
    rows.push(row);
  }
  return rows;
}

/**
 * What the cell of column `path` (a dotted JSON path) holds for JSON object `o`: "" when
 * absent, a list's items joined by spaces, anything else as text.
 */
export function expectedCell(o: unknown, path: string): string {
  let v = o;
  for (const k of path.split(".")) {
    v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined;
  }
  if (v === undefined) return "";
  if (Array.isArray(v)) return v.join(" ");
  if (typeof v === "object") throw new Error(`column ${path} holds an object`);
  return String(v);
}

/** Rows of CSV `text` as objects by header name (the first record is the header). */
export function csvRecords(text: string): { header: string[]; rows: Record<string, string>[] } {
  const [header, ...rest] = parseCsv(text);
  return {
    header,
    rows: rest.map((r) => {
      if (r.length !== header.length) {
        throw new Error(`a row of ${r.length} cells under a header of ${header.length}`);
      }
      return Object.fromEntries(header.map((h, i) => [h, r[i]]));
    }),
  };
}
