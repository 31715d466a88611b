// Just enough of PDF to read back the text of a page Chromium printed: its
// content streams are Flate-compressed and show glyph codes, which each
// font's ToUnicode map turns back into characters. Good for asserting what
// a printed page says; not a general PDF reader.

import { inflateSync } from 'node:zlib';

interface PdfObject {
  dict: string;
  stream?: Buffer;
}

function objects(pdf: Buffer): Map<number, PdfObject> {
  const text = pdf.toString('latin1');
  const out = new Map<number, PdfObject>();
  const re = /(\d+) 0 obj\s*([\s\S]*?)endobj/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const body = m[2] ?? '';
    const at = body.indexOf('stream');
    if (at < 0) {
      out.set(Number(m[1]), { dict: body });
      continue;
    }
    const dict = body.slice(0, at);
    let start = at + 'stream'.length;
    if (body[start] === '\r') start++;
    if (body[start] === '\n') start++;
    const end = body.lastIndexOf('endstream');
    let raw = Buffer.from(body.slice(start, end), 'latin1');
    if (/\/FlateDecode/.test(dict)) {
      try {
        raw = inflateSync(raw);
      } catch {
        // A stream with trailing bytes past its length: take what inflates.
        raw = inflateSync(raw, { finishFlush: 2 });
      }
    }
    out.set(Number(m[1]), { dict, stream: raw });
  }
  return out;
}

type CMap = { width: number; map: Map<number, string> };

function hexToString(hex: string): string {
  let s = '';
  for (let i = 0; i + 4 <= hex.length; i += 4) s += String.fromCharCode(parseInt(hex.slice(i, i + 4), 16));
  return s;
}

function parseCMap(src: string): CMap {
  const map = new Map<number, string>();
  let width = 2;
  for (const block of src.matchAll(/beginbfchar([\s\S]*?)endbfchar/g)) {
    for (const m of (block[1] ?? '').matchAll(/<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>/g)) {
      width = (m[1] ?? '').length / 2;
      map.set(parseInt(m[1] ?? '0', 16), hexToString(m[2] ?? ''));
    }
  }
  for (const block of src.matchAll(/beginbfrange([\s\S]*?)endbfrange/g)) {
    for (const m of (block[1] ?? '').matchAll(/<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>/g)) {
      width = (m[1] ?? '').length / 2;
      const lo = parseInt(m[1] ?? '0', 16);
      const hi = parseInt(m[2] ?? '0', 16);
      const base = parseInt(m[3] ?? '0', 16);
      for (let c = lo; c <= hi; c++) map.set(c, String.fromCharCode(base + c - lo));
    }
  }
  return { width, map };
}

/** The text of every page of pdf, in drawing order, one string per page. */
export function pdfText(pdf: Buffer): string[] {
  const objs = objects(pdf);
  // Font resource names (/F4) to their ToUnicode maps, from every resource dictionary.
  const cmapOf = new Map<number, CMap>();
  for (const [n, o] of objs) {
    const tu = /\/ToUnicode\s+(\d+)\s+0\s+R/.exec(o.dict);
    const cmap = tu ? objs.get(Number(tu[1]))?.stream : undefined;
    if (cmap) cmapOf.set(n, parseCMap(cmap.toString('latin1')));
  }
  const fontNames = new Map<string, CMap>();
  for (const o of objs.values()) {
    for (const m of o.dict.matchAll(/\/([A-Za-z0-9_.-]+)\s+(\d+)\s+0\s+R/g)) {
      const cmap = cmapOf.get(Number(m[2]));
      if (cmap) fontNames.set(m[1] ?? '', cmap);
    }
  }
  const pages: string[] = [];
  for (const o of objs.values()) {
    if (!o.stream || /\/Subtype\s*\/Image|\/Length1|\/FontFile|CMapName/.test(o.dict + o.stream.toString('latin1', 0, 200))) continue;
    const content = o.stream.toString('latin1');
    if (!/\bT[jJ]\b/.test(content)) continue;
    let font: CMap | undefined;
    let text = '';
    for (const m of content.matchAll(/\/([A-Za-z0-9_.-]+)\s+[\d.]+\s+Tf|(\[[^\]]*\]|<[0-9a-fA-F]*>)\s*T[jJ]|\bET\b/g)) {
      if (m[1] !== undefined) {
        font = fontNames.get(m[1]);
      } else if (m[2] !== undefined && font) {
        const f = font;
        for (const h of m[2].matchAll(/<([0-9a-fA-F]*)>/g)) {
          const hex = h[1] ?? '';
          for (let i = 0; i + f.width * 2 <= hex.length; i += f.width * 2) text += f.map.get(parseInt(hex.slice(i, i + f.width * 2), 16)) ?? '';
        }
      } else {
        text += ' ';
      }
    }
    pages.push(text.replace(/\s+/g, ' '));
  }
  return pages;
}
