import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DeadlineExceeded } from '@carshare/platform';
import type { Worker } from 'tesseract.js';
import type { OcrProvider, OcrText } from '../ports.ts';

/**
 * English LSTM traineddata from npm (@tesseract.js-data/eng), read from node_modules: nothing is
 * downloaded at run time. The `best_int` model is the smaller, faster one for LSTM-only engines.
 */
export const englishTrainedDataDir = join(dirname(createRequire(import.meta.url).resolve('@tesseract.js-data/eng/package.json')), '4.0.0_best_int');

export interface TesseractOcrProviderOptions {
  langPath?: string;
}

/**
 * tesseract.js (WebAssembly) in a worker thread of its own, so a read never blocks the event
 * loop. One read at a time per provider (the worker is single-threaded anyway); a read whose
 * signal aborts (the caller's timeout) terminates the thread, and the next read starts a new one.
 */
export class TesseractOcrProvider implements OcrProvider {
  readonly name = 'tesseract';
  readonly #langPath: string;
  #worker: Promise<Worker> | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: TesseractOcrProviderOptions = {}) {
    this.#langPath = options.langPath ?? englishTrainedDataDir;
  }

  read(image: Uint8Array, signal: AbortSignal): Promise<OcrText> {
    const turn = this.#queue.then(() => this.#readNow(image, signal));
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  async close(): Promise<void> {
    await this.#terminate();
  }

  async #readNow(image: Uint8Array, signal: AbortSignal): Promise<OcrText> {
    if (signal.aborted) throw timedOut();
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(timedOut());
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      // Starting the engine (~0.5 s) counts against the timeout too.
      const worker = await Promise.race([this.#started(), aborted]);
      // rotateAuto straightens a photo taken at a slant before the lines are found.
      const result = await Promise.race([worker.recognize(Buffer.from(image), { rotateAuto: true }), aborted]);
      return { text: result.data.text, confidence: result.data.confidence };
    } catch (error) {
      // The thread may still be busy with the abandoned image: end it rather than queue behind it.
      await this.#terminate();
      throw error;
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  #started(): Promise<Worker> {
    this.#worker ??= (async () => {
      // Loaded with the engine, not at start: `npm start` need not pay for it before the first licence photo.
      const { OEM, PSM, createWorker } = await import('tesseract.js');
      const worker = await createWorker('eng', OEM.LSTM_ONLY, { langPath: this.#langPath, gzip: true, cacheMethod: 'none' });
      // A fixed resolution keeps tesseract from guessing one (and printing that it did).
      await worker.setParameters({ user_defined_dpi: '300', tessedit_pageseg_mode: PSM.AUTO });
      return worker;
    })();
    const started = this.#worker;
    started.catch(() => {
      if (this.#worker === started) this.#worker = undefined;
    });
    return started;
  }

  async #terminate(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    if (!worker) return;
    try {
      await (await worker).terminate();
    } catch {
      // A worker that failed to start has nothing to terminate.
    }
  }
}

function timedOut() {
  return DeadlineExceeded('OCR_TIMEOUT', 'the OCR read took longer than its timeout');
}
