/**
 * Hand-built files, structurally valid for their format (segments, chunks, containers), for the
 * pure content checks. They are not decodable pictures: tests that need pixels make them with sharp.
 */

const ascii = (text: string): number[] => [...text].map((character) => character.charCodeAt(0));

function uint32BigEndian(value: number): number[] {
  return [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

function uint32LittleEndian(value: number): number[] {
  return uint32BigEndian(value).reverse();
}

/** SOI, an APP0 (JFIF) segment, an optional comment, a start-of-scan with data, EOI. */
export function jpegSample(options: { comment?: string; scanBytes?: number[] } = {}): Uint8Array {
  const app0 = [0xff, 0xe0, 0x00, 0x10, ...ascii('JFIF'), 0, 1, 1, 0, 0, 1, 0, 1, 0, 0];
  const comment = options.comment === undefined ? [] : [0xff, 0xfe, ...[(options.comment.length + 2) >> 8, (options.comment.length + 2) & 0xff], ...ascii(options.comment)];
  const startOfScan = [0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00];
  // Stuffed 0xFF00 and a restart marker inside the data, as real encoders write them.
  const scan = options.scanBytes ?? [0x12, 0x34, 0xff, 0x00, 0x56, 0xff, 0xd0, 0x78];
  return Uint8Array.from([0xff, 0xd8, ...app0, ...comment, ...startOfScan, ...scan, 0xff, 0xd9]);
}

function pngChunk(type: string, data: number[]): number[] {
  return [...uint32BigEndian(data.length), ...ascii(type), ...data, 0, 0, 0, 0];
}

export function pngSample(): Uint8Array {
  const header = [...uint32BigEndian(1), ...uint32BigEndian(1), 8, 2, 0, 0, 0];
  return Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...pngChunk('IHDR', header), ...pngChunk('IDAT', [1, 2, 3]), ...pngChunk('IEND', [])]);
}

export function webpSample(): Uint8Array {
  const chunk = [...ascii('VP8L'), ...uint32LittleEndian(6), 0x2f, 0, 0, 0, 0, 0];
  const body = [...ascii('WEBP'), ...chunk];
  return Uint8Array.from([...ascii('RIFF'), ...uint32LittleEndian(body.length), ...body]);
}

export function pdfSample(extra = ''): Uint8Array {
  return Uint8Array.from(ascii(`%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n${extra}trailer << /Root 1 0 R >>\n%%EOF\n`));
}

/** The first bytes of a Windows executable: what a renamed `.exe` starts with. */
export function windowsExecutableSample(): Uint8Array {
  return Uint8Array.from([...ascii('MZ'), 0x90, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0xff, 0xff, 0, 0, ...ascii('This program cannot be run in DOS mode.')]);
}

/** A ZIP archive's empty end-of-central-directory record: appended, it makes a file a ZIP too. */
export function zipEndOfDirectorySample(): Uint8Array {
  return Uint8Array.from([0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}
