import { Unavailable } from '@carshare/platform';
import type { OcrProvider, OcrText } from '../ports.ts';

export interface SimulatedOcrSettings {
  /** How long a read takes. */
  latencyMs: number;
  /** 0–100: the share of reads that fail, as an outage or an overloaded engine would. */
  failurePercent: number;
}

/**
 * An OCR engine for fault drills and tests: it answers with the text it is given for an image
 * (or a fixed text), after `latencyMs`, and fails `failurePercent` of the reads. Settings can be
 * changed while it runs (a drill turns the failure rate up, then down again).
 */
export class SimulatedOcrProvider implements OcrProvider {
  readonly name = 'simulated';
  settings: SimulatedOcrSettings;
  readonly #textFor: (image: Uint8Array) => string;
  readonly #random: () => number;
  reads = 0;

  constructor(settings: SimulatedOcrSettings, options: { textFor?: (image: Uint8Array) => string; random?: () => number } = {}) {
    this.settings = { ...settings };
    this.#textFor = options.textFor ?? ((image) => Buffer.from(image).toString('utf8'));
    this.#random = options.random ?? Math.random;
  }

  async read(image: Uint8Array, signal: AbortSignal): Promise<OcrText> {
    this.reads++;
    if (this.settings.latencyMs > 0) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, this.settings.latencyMs);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(Unavailable('OCR_TIMEOUT', 'the simulated OCR read was aborted'));
        }, { once: true });
      });
    }
    if (this.#random() * 100 < this.settings.failurePercent) throw Unavailable('OCR_UNAVAILABLE', 'the simulated OCR engine failed this read');
    return { text: this.#textFor(image), confidence: 90 };
  }

  async close(): Promise<void> {}
}
