import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { GlobalFonts, createCanvas } from '@napi-rs/canvas';

/** What a generated card shows: the fields a rider types, printed the way a licence prints them. */
export interface LicenceCardText {
  licenceNumber: string;
  surname: string;
  givenNames: string;
  birthDate: string;
  issuedOn: string;
  expiresOn: string;
  issuingCountry: string;
  classes: string[];
}

export interface LicenceCardStyle {
  /** One of `licenceCardFonts`. */
  font: LicenceCardFont;
  /** Degrees, the tilt of a photo taken by hand (±5 in the accuracy run). */
  rotationDegrees: number;
  /** 0..1: how strong the grain is (0.3 is a dim-room phone photo). */
  noise: number;
  /** Seeds the noise, so a failing image can be rendered again. */
  seed: number;
}

// Fonts come from an npm package, not the machine: the images are the same on every machine.
const fontDir = join(dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');
const fontFiles = {
  'DejaVu Sans': 'DejaVuSans.ttf',
  'DejaVu Serif': 'DejaVuSerif.ttf',
  'DejaVu Sans Mono': 'DejaVuSansMono.ttf',
  'DejaVu Sans Condensed': 'DejaVuSansCondensed.ttf',
  'DejaVu Serif Condensed': 'DejaVuSerifCondensed.ttf',
  'DejaVu Sans Bold': 'DejaVuSans-Bold.ttf',
} as const;
export type LicenceCardFont = keyof typeof fontFiles;
export const licenceCardFonts = Object.keys(fontFiles) as LicenceCardFont[];

let fontsRegistered = false;
function registerFonts(): void {
  if (fontsRegistered) return;
  for (const [family, file] of Object.entries(fontFiles)) GlobalFonts.registerFromPath(join(fontDir, file), family);
  fontsRegistered = true;
}

/** A small deterministic generator (mulberry32): the same seed speckles the same pixels. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// A card of 85.6 × 54 mm photographed at about 300 dpi, drawn at `scale` over a 1012 × 638 layout.
const width = 1012;
const height = 638;
const scale = 1;

/**
 * A PNG of a licence card: a tinted card on a grey background, a title, a photo box, and one
 * "label: value" line per field, tilted and speckled as the style says.
 */
export function renderLicenceCard(text: LicenceCardText, style: LicenceCardStyle): Buffer {
  registerFonts();
  const canvas = createCanvas(width * scale, height * scale);
  const ctx = canvas.getContext('2d');
  ctx.scale(scale, scale);
  ctx.fillStyle = '#d9d9d9';
  ctx.fillRect(0, 0, width, height);

  ctx.save();
  ctx.translate(width / 2, height / 2);
  ctx.rotate((style.rotationDegrees * Math.PI) / 180);
  ctx.translate(-width / 2, -height / 2);
  ctx.fillStyle = '#f3f6fb';
  ctx.fillRect(24, 24, width - 48, height - 48);
  ctx.fillStyle = '#dfe8f5';
  ctx.fillRect(24, 24, width - 48, 70);
  ctx.fillStyle = '#1d2b4f';
  ctx.font = `30px "${style.font}"`;
  ctx.fillText('DRIVING LICENCE', 56, 72);
  ctx.strokeStyle = '#8a94a8';
  ctx.lineWidth = 2;
  ctx.strokeRect(56, 130, 190, 240);
  ctx.fillStyle = '#111111';
  ctx.font = `26px "${style.font}"`;
  const lines: Array<[string, string]> = [
    ['Surname', text.surname],
    ['Given names', text.givenNames],
    ['Date of birth', text.birthDate],
    ['Issued', text.issuedOn],
    ['Expires', text.expiresOn],
    ['Country', text.issuingCountry],
    ['Licence No', text.licenceNumber],
    ['Classes', text.classes.join(' ')],
  ];
  lines.forEach(([label, value], index) => ctx.fillText(`${label}: ${value}`, 290, 150 + index * 56));
  ctx.restore();

  if (style.noise > 0) {
    // Grain on every pixel (a phone sensor in a dim room), plus a few dark specks of dust.
    const random = seededRandom(style.seed);
    const image = ctx.getImageData(0, 0, width * scale, height * scale);
    const pixels = image.data;
    const amplitude = 160 * style.noise;
    for (let i = 0; i < pixels.length; i += 4) {
      const grain = (random() + random() + random() - 1.5) * amplitude;
      const speck = random() < style.noise / 20 ? -120 : 0;
      for (let channel = 0; channel < 3; channel++) pixels[i + channel] = Math.max(0, Math.min(255, (pixels[i + channel] ?? 0) + grain + speck));
    }
    ctx.putImageData(image, 0, 0);
  }
  return canvas.toBuffer('image/png');
}
