// Build step (js/build.mjs): gives the wasm's imports from the wasm-bindgen glue short names.
//
// wasm-bindgen names each import `__wbg_<method>_<16 hex digits>`, and every name is written
// twice, in the wasm's import section and as a key of the glue's imports object; the hex
// digits do not compress. Renaming them `a`, `b`, ... in both saves 3.5 KB gzip (measured:
// 68,534 -> 65,004 bytes for the whole package, without which it is over budget). Only the
// names change: the import section is rewritten entry by entry, everything else is copied
// byte for byte. Each old name must be a key in the glue exactly once, or the build fails.

const MODULE = './video_handoff_bg.js';

function reader(bytes, at) {
  const r = {
    at,
    u32() {
      let n = 0;
      let shift = 0;
      let b;
      do {
        b = bytes[r.at++];
        n += (b & 0x7f) * 2 ** shift;
        shift += 7;
      } while (b & 0x80);
      return n;
    },
    name() {
      const len = r.u32();
      const s = new TextDecoder().decode(bytes.subarray(r.at, r.at + len));
      r.at += len;
      return s;
    },
    limits() {
      const flags = r.u32();
      r.u32();
      if (flags & 1) r.u32();
    },
  };
  return r;
}

function u32(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return Uint8Array.from(out);
}

function name(s) {
  const b = new TextEncoder().encode(s);
  return concat([u32(b.length), b]);
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function shortName(i) {
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  let s = '';
  do {
    s = letters[i % letters.length] + s;
    i = Math.floor(i / letters.length) - 1;
  } while (i >= 0);
  return s;
}

/** Returns `{ wasm, glue }` with the glue module's imports renamed in both. */
export function shortenImports(wasm, glue) {
  const r = reader(wasm, 8);
  const parts = [wasm.subarray(0, 8)];
  const renamed = new Map();
  while (r.at < wasm.length) {
    const start = r.at;
    const id = wasm[r.at++];
    const end = r.u32() + r.at;
    if (id !== 2) {
      parts.push(wasm.subarray(start, end));
      r.at = end;
      continue;
    }
    const count = r.u32();
    const entries = [u32(count)];
    for (let i = 0; i < count; i++) {
      const module = r.name();
      const field = r.name();
      const desc = r.at;
      const kind = wasm[r.at++];
      if (kind === 0) r.u32(); // function: type index
      else if (kind === 1) (r.at++, r.limits()); // table: reftype, limits
      else if (kind === 2) r.limits(); // memory
      else if (kind === 3) r.at += 2; // global: valtype, mutability
      else throw new Error(`short-imports: unknown import kind ${kind}`);
      let short = field;
      if (module === MODULE) {
        short = renamed.get(field) ?? shortName(renamed.size);
        renamed.set(field, short);
      }
      entries.push(name(module), name(short), wasm.subarray(desc, r.at));
    }
    if (r.at !== end) throw new Error('short-imports: import section did not parse to its end');
    const body = concat(entries);
    parts.push(Uint8Array.of(2), u32(body.length), body);
  }
  for (const [long, short] of renamed) {
    // A key of the imports object: `name:` (minified) or `name: ` (as generated).
    const hits = glue.split(long).length - 1;
    if (hits !== 1 || !new RegExp(`[{,\\s]${long}\\s*:`).test(glue)) {
      throw new Error(`short-imports: ${long} is not one key of the glue's imports object (${hits} hits)`);
    }
    glue = glue.replace(long, short);
  }
  return { wasm: concat(parts), glue };
}
