import type { default as Sharp } from 'sharp';
import { UnreadableImage, type ImageCleaner } from '../ports.ts';

export interface SharpImageCleanerOptions {
  /** Decompression-bomb guard: a 10 MB file may claim gigapixels. 50 MP covers every phone camera. */
  maxInputPixels: number;
}

/**
 * Decodes and re-encodes an image with libvips (sharp): only pixels survive, never EXIF (GPS,
 * camera serials), XMP, ICC-embedded text, comments or bytes after the image's end. The EXIF
 * orientation is applied to the pixels first, so the picture still stands the right way up.
 * ADR 0016 says why sharp, and what the fallback would be.
 */
// Loaded on the first upload, not at start: sharp maps libvips (~35 ms of CPU and ~20 MB of
// resident libraries) into every `npm start`, for a feature most runs never use.
let sharpLoaded: Promise<typeof Sharp> | undefined;
const loadSharp = () => (sharpLoaded ??= import('sharp').then((loaded) => loaded.default));

export class SharpImageCleaner implements ImageCleaner {
  readonly #options: SharpImageCleanerOptions;

  constructor(options: SharpImageCleanerOptions = { maxInputPixels: 50_000_000 }) {
    this.#options = options;
  }

  async clean(bytes: Uint8Array, contentType: 'image/jpeg' | 'image/png' | 'image/webp'): Promise<Uint8Array> {
    // failOn 'warning': a truncated or corrupt image is refused, not half-decoded.
    const sharp = await loadSharp();
    const image = sharp(bytes, { failOn: 'warning', limitInputPixels: this.#options.maxInputPixels, animated: false }).autoOrient();
    const encoded = contentType === 'image/jpeg' ? image.jpeg({ quality: 90 }) : contentType === 'image/png' ? image.png() : image.webp({ quality: 90 });
    try {
      return new Uint8Array(await encoded.toBuffer());
    } catch (error) {
      throw new UnreadableImage(error instanceof Error ? error.message : String(error));
    }
  }
}
