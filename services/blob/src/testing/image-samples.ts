import sharp from 'sharp';

/**
 * A real photo as a phone writes it: JPEG pixels plus EXIF with the camera and a GPS position
 * (Berlin), which must never reach an operator.
 */
export async function jpegWithGpsSample(width = 64, height = 48): Promise<Uint8Array> {
  const buffer = await sharp({ create: { width, height, channels: 3, background: { r: 200, g: 30, b: 30 } } })
    .jpeg()
    .withExif({
      IFD0: { Make: 'PhoneCo', Model: 'Snapper 9' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '52/1 31/1 12/1', GPSLongitudeRef: 'E', GPSLongitude: '13/1 24/1 36/1' },
    })
    .toBuffer();
  return new Uint8Array(buffer);
}

export async function pngPhotoSample(): Promise<Uint8Array> {
  return new Uint8Array(await sharp({ create: { width: 16, height: 16, channels: 4, background: '#00ff00' } }).png().toBuffer());
}

/** True when the bytes carry an EXIF block with a GPS directory (tag 0x8825 in either byte order). */
export async function hasGpsExif(bytes: Uint8Array): Promise<boolean> {
  const { exif } = await sharp(bytes).metadata();
  if (!exif) return false;
  return exif.includes(Buffer.from([0x88, 0x25])) || exif.includes(Buffer.from([0x25, 0x88]));
}
