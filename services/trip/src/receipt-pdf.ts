import type { ReceiptLine } from './domain/pricing.ts';
import type { Receipt } from './trip-queries.ts';

/** 1234 cents in EUR → "EUR 12.34" (minor units of 2; every currency in the tariff table has 2). */
export function formatMoney(cents: number, currency: string): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${currency} ${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

function lineLabel(line: ReceiptLine): string {
  if (line.code === 'driving' || line.code === 'parking') return `${line.description}: ${line.quantity} min`;
  if (line.code === 'distance') return `${line.description.replace(' (m)', '')}: ${(line.quantity / 1000).toFixed(2)} km`;
  return line.description;
}

/**
 * The receipt as a PDF (pdfkit, DESIGN §4): the same lines as the JSON, in the same order. Built
 * with the built-in Helvetica (no font files to ship) and uncompressed content, so the text can
 * be checked by anything that reads the bytes; a receipt is a page, a few kilobytes either way.
 * The document is dated by the trip's end, not by when it was rendered.
 */
export async function renderReceiptPdf(receipt: Receipt): Promise<Buffer> {
  // Loaded on the first receipt, not at start: pdfkit and its font stack cost ~130 ms of CPU to
  // load, which every `npm start` paid for a feature most runs never use.
  const { default: PDFDocument } = await import('pdfkit');
  const { trip, currency } = receipt;
  const money = (cents: number) => formatMoney(cents, currency);
  const doc = new PDFDocument({
    size: 'A4',
    margin: 56,
    compress: false,
    info: { Title: `Receipt for trip ${trip.id}`, Author: 'carshare', Subject: `Total ${money(receipt.totalCents)}`, CreationDate: new Date(receipt.finishedAt), ModDate: new Date(receipt.finishedAt) },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });

  const row = (label: string, amount: string, bold = false) => {
    const y = doc.y;
    doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(11);
    doc.text(label, 56, y, { width: 340 });
    doc.text(amount, 400, y, { width: 140, align: 'right' });
    doc.moveDown(0.3);
  };

  doc.font('Helvetica-Bold').fontSize(18).text('carshare receipt');
  doc.moveDown(0.5);
  doc.font('Helvetica').fontSize(10);
  doc.text(`Trip ${trip.id}`);
  doc.text(`Car ${trip.carId} (${trip.category}), tariff ${receipt.tariffVersion}`);
  doc.text(`From ${new Date(receipt.startedAt).toISOString()} to ${new Date(receipt.finishedAt).toISOString()}`);
  doc.text(`Ended in ${receipt.endZone.name}, ${((trip.distanceM ?? 0) / 1000).toFixed(2)} km driven`);
  doc.moveDown();

  for (const line of receipt.meteredLines) row(lineLabel(line), money(line.cents));
  row('Metered price', money(receipt.meteredCents), true);
  if (receipt.packageApplied) {
    const { name, count, cents, savedCents } = receipt.packageApplied;
    row(`Package cap applied: ${count} x ${name} (saves ${money(savedCents)})`, money(cents), true);
  }
  for (const line of receipt.feeLines) row(lineLabel(line), money(line.cents));
  doc.moveDown(0.5);
  row('Total', money(receipt.totalCents), true);
  row(`of which VAT ${(receipt.vatRate * 100).toFixed(0)}%`, money(receipt.vatCents));
  doc.moveDown(0.5);
  row('Deposit held', money(trip.depositCents));
  row('Deposit released', money(receipt.depositReleasedCents));
  if (receipt.extraChargeCents > 0) row('Charged beyond the deposit', money(receipt.extraChargeCents));
  row('Payment', trip.paymentStatus === 'captured' ? 'charged' : (trip.paymentStatus ?? 'pending'));
  doc.end();
  return await done;
}
