import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { UnreadableImage } from '../ports.ts';
import { concatBytes, jpegSample, zipEndOfDirectorySample } from '../testing/content-samples.ts';
import { hasGpsExif, jpegWithGpsSample, pngPhotoSample } from '../testing/image-samples.ts';
import { SharpImageCleaner } from './sharp-image-cleaner.ts';

describe('SharpImageCleaner', () => {
  const cleaner = new SharpImageCleaner();

  it('drops EXIF (GPS position, camera) and keeps the picture and its type', async () => {
    const photo = await jpegWithGpsSample();
    assert.equal(await hasGpsExif(photo), true, 'the sample carries GPS to begin with');
    const cleaned = await cleaner.clean(photo, 'image/jpeg');
    assert.equal(await hasGpsExif(cleaned), false);
    assert.equal((await sharp(cleaned).metadata()).exif, undefined);
    assert.equal(Buffer.from(cleaned).includes('PhoneCo'), false);
    const { format, width, height } = await sharp(cleaned).metadata();
    assert.deepEqual({ format, width, height }, { format: 'jpeg', width: 64, height: 48 });
  });

  it('re-encodes PNG and WebP as themselves', async () => {
    assert.equal((await sharp(await cleaner.clean(await pngPhotoSample(), 'image/png')).metadata()).format, 'png');
    const webp = new Uint8Array(await sharp(await pngPhotoSample()).webp().toBuffer());
    assert.equal((await sharp(await cleaner.clean(webp, 'image/webp')).metadata()).format, 'webp');
  });

  it('drops whatever follows the image', async () => {
    const photo = await jpegWithGpsSample();
    const cleaned = await cleaner.clean(concatBytes(photo, zipEndOfDirectorySample()), 'image/jpeg');
    assert.equal(Buffer.from(cleaned).includes(Buffer.from([0x50, 0x4b, 0x05, 0x06])), false);
  });

  it('refuses bytes that are not a decodable picture, and pictures above the pixel limit', async () => {
    await assert.rejects(cleaner.clean(jpegSample(), 'image/jpeg'), UnreadableImage);
    await assert.rejects(new SharpImageCleaner({ maxInputPixels: 100 }).clean(await jpegWithGpsSample(), 'image/jpeg'), UnreadableImage);
  });
});
