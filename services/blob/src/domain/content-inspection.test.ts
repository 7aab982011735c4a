import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BlobContentType } from '@carshare/contracts';
import {
  concatBytes,
  jpegSample,
  pdfSample,
  pngSample,
  webpSample,
  windowsExecutableSample,
  zipEndOfDirectorySample,
} from '../testing/content-samples.ts';
import { inspectContent, sniffContentType, type ContentProblem } from './content-inspection.ts';

const limit = 1024 * 1024;

function problemOf(bytes: Uint8Array, declared: BlobContentType, maxBytes = limit): ContentProblem | 'accepted' {
  const verdict = inspectContent(bytes, declared, maxBytes);
  return verdict.ok ? 'accepted' : verdict.problem;
}

const ascii = (text: string) => Uint8Array.from(Buffer.from(text, 'latin1'));

describe('content inspection', () => {
  it('knows the four accepted types by their magic numbers, and nothing else', () => {
    assert.equal(sniffContentType(jpegSample()), 'image/jpeg');
    assert.equal(sniffContentType(pngSample()), 'image/png');
    assert.equal(sniffContentType(webpSample()), 'image/webp');
    assert.equal(sniffContentType(pdfSample()), 'application/pdf');
    assert.equal(sniffContentType(windowsExecutableSample()), undefined);
    assert.equal(sniffContentType(ascii('GIF89a')), undefined);
    assert.equal(sniffContentType(new Uint8Array()), undefined);
  });

  it('accepts well-formed files of the declared type', () => {
    assert.equal(problemOf(jpegSample(), 'image/jpeg'), 'accepted');
    assert.equal(problemOf(jpegSample({ comment: 'taken on a phone' }), 'image/jpeg'), 'accepted');
    assert.equal(problemOf(pngSample(), 'image/png'), 'accepted');
    assert.equal(problemOf(webpSample(), 'image/webp'), 'accepted');
    assert.equal(problemOf(pdfSample(), 'application/pdf'), 'accepted');
  });

  it('refuses a zero-byte file', () => {
    assert.equal(problemOf(new Uint8Array(), 'image/jpeg'), 'EMPTY');
  });

  it('refuses an executable renamed .jpg, and text', () => {
    assert.equal(problemOf(windowsExecutableSample(), 'image/jpeg'), 'UNKNOWN_TYPE');
    assert.equal(problemOf(concatBytes(Uint8Array.from([0x7f, 0x45, 0x4c, 0x46]), jpegSample()), 'image/jpeg'), 'UNKNOWN_TYPE');
    assert.equal(problemOf(ascii('<html><script>alert(1)</script></html>'), 'image/png'), 'UNKNOWN_TYPE');
  });

  it('refuses a real type that is not the declared one', () => {
    assert.equal(problemOf(pngSample(), 'image/jpeg'), 'TYPE_MISMATCH');
    assert.equal(problemOf(pdfSample(), 'image/webp'), 'TYPE_MISMATCH');
  });

  it('refuses more bytes than the limit, and accepts exactly the limit', () => {
    const sample = jpegSample();
    assert.equal(problemOf(sample, 'image/jpeg', sample.length - 1), 'TOO_LARGE');
    assert.equal(problemOf(sample, 'image/jpeg', sample.length), 'accepted');
  });

  it('refuses files cut short or with broken structure', () => {
    const jpeg = jpegSample();
    assert.equal(problemOf(jpeg.subarray(0, jpeg.length - 2), 'image/jpeg'), 'MALFORMED');
    assert.equal(problemOf(jpeg.subarray(0, 8), 'image/jpeg'), 'MALFORMED');
    assert.equal(problemOf(Uint8Array.from([0xff, 0xd8, 0xff, 0xd8, 0xff, 0xd9]), 'image/jpeg'), 'MALFORMED');
    const png = pngSample();
    assert.equal(problemOf(png.subarray(0, png.length - 12), 'image/png'), 'MALFORMED');
    const webp = webpSample();
    assert.equal(problemOf(webp.subarray(0, webp.length - 2), 'image/webp'), 'MALFORMED');
    assert.equal(problemOf(ascii('%PDF-1.4\n1 0 obj'), 'application/pdf'), 'MALFORMED');
  });

  it('refuses bytes after the end of a PNG or a WebP', () => {
    assert.equal(problemOf(concatBytes(pngSample(), ascii('extra')), 'image/png'), 'TRAILING_DATA');
    const webp = webpSample();
    assert.equal(problemOf(concatBytes(webp, ascii('xx')), 'image/webp'), 'TRAILING_DATA');
  });

  it('accepts a camera trailer after a JPEG, which re-encoding drops', () => {
    assert.equal(problemOf(concatBytes(jpegSample(), ascii('SEFH\0\0\0\0camera data')), 'image/jpeg'), 'accepted');
  });

  it('refuses polyglots: image + ZIP, image + HTML, image + PDF, PDF + ZIP, image + executable', () => {
    assert.equal(problemOf(concatBytes(jpegSample(), zipEndOfDirectorySample()), 'image/jpeg'), 'POLYGLOT');
    assert.equal(problemOf(jpegSample({ comment: '<script>alert(document.cookie)</script>' }), 'image/jpeg'), 'POLYGLOT');
    assert.equal(problemOf(jpegSample({ comment: '<HTML><body>' }), 'image/jpeg'), 'POLYGLOT');
    assert.equal(problemOf(jpegSample({ comment: '%PDF-1.7 hidden document' }), 'image/jpeg'), 'POLYGLOT');
    assert.equal(problemOf(jpegSample({ comment: '<?php system($_GET[1]); ?>' }), 'image/jpeg'), 'POLYGLOT');
    assert.equal(problemOf(concatBytes(jpegSample(), windowsExecutableSample()), 'image/jpeg'), 'POLYGLOT');
    assert.equal(problemOf(concatBytes(jpegSample(), Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 1, 2])), 'image/jpeg'), 'POLYGLOT');
    const png = pngSample();
    const withText = concatBytes(png.subarray(0, png.length - 12), Uint8Array.from([0, 0, 0, 7, ...ascii('tEXt<svg x>'), 0, 0, 0, 0]), png.subarray(png.length - 12));
    assert.equal(problemOf(withText, 'image/png'), 'POLYGLOT');
    const pdf = pdfSample();
    assert.equal(problemOf(concatBytes(pdf.subarray(0, 20), zipEndOfDirectorySample(), pdf.subarray(20)), 'application/pdf'), 'POLYGLOT');
  });

  it('refuses PDFs with active content', () => {
    for (const active of ['/JavaScript', '/JS', '/Launch', '/EmbeddedFile', '/RichMedia', '/XFA']) {
      assert.equal(problemOf(pdfSample(`2 0 obj << /S ${active} (x) >> endobj\n`), 'application/pdf'), 'POLYGLOT', active);
    }
    assert.equal(problemOf(pdfSample('2 0 obj << /JSON (not a script) >> endobj\n'), 'application/pdf'), 'accepted');
  });
});
