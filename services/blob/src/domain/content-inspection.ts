import type { BlobContentType } from '@carshare/contracts';

/**
 * Why uploaded bytes were refused. EMPTY: nothing came. UNKNOWN_TYPE: no magic number we accept
 * (an executable renamed .jpg lands here). TYPE_MISMATCH: a real type, not the declared one.
 * MALFORMED: the structure is broken or cut short. TRAILING_DATA: bytes after a PNG's or WebP's
 * end. POLYGLOT: the bytes also read as another format (archive, PDF, markup, executable) or
 * carry active PDF content. TOO_LARGE: above the purpose's limit.
 */
export type ContentProblem = 'EMPTY' | 'UNKNOWN_TYPE' | 'TYPE_MISMATCH' | 'MALFORMED' | 'TRAILING_DATA' | 'POLYGLOT' | 'TOO_LARGE';

export type ContentVerdict = { ok: true } | { ok: false; problem: ContentProblem; message: string };

const refuse = (problem: ContentProblem, message: string): ContentVerdict => ({ ok: false, problem, message });

function startsWith(bytes: Uint8Array, prefix: readonly number[], at = 0): boolean {
  if (bytes.length < at + prefix.length) return false;
  return prefix.every((byte, index) => bytes[at + index] === byte);
}

const ascii = (text: string): number[] => [...text].map((character) => character.charCodeAt(0));
const jpegMagic = [0xff, 0xd8, 0xff];
const pngMagic = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const riff = ascii('RIFF');
const webp = ascii('WEBP');
const pdfMagic = ascii('%PDF-');

/** The type the bytes' magic number says, among the four accepted; undefined for anything else. */
export function sniffContentType(bytes: Uint8Array): BlobContentType | undefined {
  if (startsWith(bytes, jpegMagic)) return 'image/jpeg';
  if (startsWith(bytes, pngMagic)) return 'image/png';
  if (startsWith(bytes, riff) && startsWith(bytes, webp, 8)) return 'image/webp';
  if (startsWith(bytes, pdfMagic)) return 'application/pdf';
  return undefined;
}

/** Where a JPEG's end-of-image marker ends, walking its segments; a string when it is broken. */
function jpegEnd(bytes: Uint8Array): number | string {
  const length = bytes.length;
  let position = 2;
  while (position < length) {
    if (bytes[position] !== 0xff) return `no marker at byte ${position}`;
    while (position < length && bytes[position] === 0xff) position += 1;
    const marker = bytes[position];
    position += 1;
    if (marker === undefined) return 'cut short inside a marker';
    if (marker === 0xd9) return position;
    if (marker === 0xd8) return 'a second start-of-image marker';
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue;
    if (position + 2 > length) return 'cut short inside a segment header';
    const segmentLength = ((bytes[position] as number) << 8) | (bytes[position + 1] as number);
    if (segmentLength < 2) return `segment length ${segmentLength} at byte ${position}`;
    position += segmentLength;
    if (position > length) return 'a segment runs past the end';
    if (marker !== 0xda) continue;
    // Entropy-coded data after start-of-scan: it ends at the first marker that is neither a
    // stuffed 0xFF00 nor a restart marker.
    for (;;) {
      if (position + 1 >= length) return 'cut short inside the image data';
      if (bytes[position] === 0xff) {
        const next = bytes[position + 1] as number;
        if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) {
          position += 2;
          continue;
        }
        if (next === 0xff) {
          position += 1;
          continue;
        }
        break;
      }
      position += 1;
    }
  }
  return 'no end-of-image marker';
}

function readUint32BigEndian(bytes: Uint8Array, at: number): number {
  return (((bytes[at] as number) << 24) >>> 0) + ((bytes[at + 1] as number) << 16) + ((bytes[at + 2] as number) << 8) + (bytes[at + 3] as number);
}

function readUint32LittleEndian(bytes: Uint8Array, at: number): number {
  return (bytes[at] as number) + ((bytes[at + 1] as number) << 8) + ((bytes[at + 2] as number) << 16) + (((bytes[at + 3] as number) << 24) >>> 0);
}

/** Where a PNG's IEND chunk ends, walking its chunks; a string when it is broken. */
function pngEnd(bytes: Uint8Array): number | string {
  let position = pngMagic.length;
  let first = true;
  while (position + 12 <= bytes.length) {
    const dataLength = readUint32BigEndian(bytes, position);
    const type = String.fromCharCode(...bytes.subarray(position + 4, position + 8));
    if (!/^[A-Za-z]{4}$/.test(type)) return `chunk type ${JSON.stringify(type)} at byte ${position}`;
    if (first && type !== 'IHDR') return 'the first chunk is not IHDR';
    first = false;
    position += 12 + dataLength;
    if (position > bytes.length) return `chunk ${type} runs past the end`;
    if (type === 'IEND') return position;
  }
  return 'no IEND chunk';
}

/** Where a WebP's RIFF container says it ends; a string when it is broken. */
function webpEnd(bytes: Uint8Array): number | string {
  if (bytes.length < 20) return 'shorter than a WebP header';
  const end = 8 + readUint32LittleEndian(bytes, 4);
  const chunk = String.fromCharCode(...bytes.subarray(12, 16));
  if (!['VP8 ', 'VP8L', 'VP8X'].includes(chunk)) return `first chunk ${JSON.stringify(chunk)} is not VP8, VP8L or VP8X`;
  if (end > bytes.length) return 'the RIFF size runs past the end';
  return end;
}

// Signatures that make a file readable as something else. Markup and PHP anywhere: a browser or
// an interpreter sniffing the bytes would run it. A PDF header anywhere: PDF readers look for it
// in the first kilobyte and some well beyond. A ZIP end-of-central-directory record within the last
// 64 KiB + 22 bytes: where ZIP readers look for it (JAR, DOCX, "GIFAR"-style files).
const markupOrPdf = /<(?:script|html|iframe|svg|object|embed|!doctype|\?php)\b|%PDF-/i;
const zipEndOfDirectory = [0x50, 0x4b, 0x05, 0x06];
const zipLocalHeader = [0x50, 0x4b, 0x03, 0x04];
const zipSearchWindow = 65_535 + 22;
const executableHeaders = [ascii('MZ'), [0x7f, 0x45, 0x4c, 0x46], [0xcf, 0xfa, 0xed, 0xfe], [0xca, 0xfe, 0xba, 0xbe]];
// Active content in a PDF: scripts, launching programs, embedded files, forms that run code.
const activePdfContent = /\/(?:JavaScript|JS|Launch|EmbeddedFile|RichMedia|XFA)\b/;

function indexOfSequence(bytes: Uint8Array, sequence: readonly number[], from: number): number {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(Uint8Array.from(sequence), from);
}

function otherFormatIn(bytes: Uint8Array, text: string, contentType: BlobContentType): string | undefined {
  const markup = markupOrPdf.exec(contentType === 'application/pdf' ? text.slice(pdfMagic.length) : text);
  if (markup) return `contains ${JSON.stringify(markup[0])}`;
  if (indexOfSequence(bytes, zipEndOfDirectory, Math.max(0, bytes.length - zipSearchWindow)) >= 0) return 'ends like a ZIP archive';
  if (contentType === 'application/pdf' && activePdfContent.test(text)) return 'carries active content (scripts, launch actions, embedded files or XFA)';
  return undefined;
}

/**
 * Decides whether uploaded bytes are what they claim: one of the four types by magic number and
 * structure, the declared one, within `maxBytes`, and nothing else besides. Pure: the caller reads
 * the bytes and deletes what is refused. A JPEG may carry data after its end marker (phone cameras
 * append their own), as long as it is no other format: re-encoding drops it anyway.
 */
export function inspectContent(bytes: Uint8Array, declared: BlobContentType, maxBytes: number): ContentVerdict {
  if (bytes.length === 0) return refuse('EMPTY', 'the upload is empty');
  if (bytes.length > maxBytes) return refuse('TOO_LARGE', `${bytes.length} bytes is above the limit of ${maxBytes}`);
  const sniffed = sniffContentType(bytes);
  if (sniffed === undefined) return refuse('UNKNOWN_TYPE', 'not a JPEG, PNG, WebP or PDF file');
  if (sniffed !== declared) return refuse('TYPE_MISMATCH', `declared ${declared}, the bytes are ${sniffed}`);

  let end: number | string;
  switch (sniffed) {
    case 'image/jpeg':
      end = jpegEnd(bytes);
      break;
    case 'image/png':
      end = pngEnd(bytes);
      break;
    case 'image/webp':
      end = webpEnd(bytes);
      break;
    case 'application/pdf':
      end = /%%EOF\s*$/.test(Buffer.from(bytes.subarray(Math.max(0, bytes.length - 1024))).toString('latin1'))
        ? bytes.length
        : 'no %%EOF at the end';
      break;
  }
  if (typeof end === 'string') return refuse('MALFORMED', `a broken ${sniffed}: ${end}`);
  if (end < bytes.length && sniffed !== 'image/jpeg') return refuse('TRAILING_DATA', `${bytes.length - end} bytes after the end of the ${sniffed}`);

  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const other = otherFormatIn(bytes, text, sniffed);
  if (other) return refuse('POLYGLOT', `the ${sniffed} ${other}`);
  if (end < bytes.length) {
    const trailer = bytes.subarray(end);
    if (executableHeaders.some((header) => startsWith(trailer, header)) || indexOfSequence(trailer, zipLocalHeader, 0) >= 0) {
      return refuse('POLYGLOT', `the ${sniffed} is followed by an executable or an archive`);
    }
  }
  return { ok: true };
}
