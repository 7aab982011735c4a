import type { Language } from '../../i18n/i18n.tsx';

/**
 * The stats screen's own labels for the figures added with search conversion and utilisation
 * (ADR 0026). Both languages are required by the type: a missing translation does not compile.
 */
const en = {
  'stats.chart.rates': 'Rider journey (%)',
  'stats.line.unlockSuccess': 'Unlocks that opened the car',
  'stats.line.conversion': 'Searches followed by a reservation',
  'stats.line.approvalRate': 'Licences approved',
  'stats.line.searched': 'Riders who searched',
  'stats.line.reservedAfterSearch': 'Reserved after searching',
  'stats.line.tripPrices': 'Trip prices',
  'stats.line.fleet': 'Cars in the fleet',
  'stats.chart.utilisation': 'Utilisation by car category (%)',
  'stats.note.utilisation': 'Car time of finished trips ÷ (cars in the fleet × the period): an hour fills in as its trips end.',
  'stats.line.allCars': 'All cars',
  'stats.category.small': 'Small',
  'stats.category.compact': 'Compact',
  'stats.category.premium': 'Premium',
  'stats.category.van': 'Van',
  'stats.chart.review': 'Time to review a licence (mean, minutes)',
  'stats.line.reviewVerified': 'Approved',
  'stats.line.reviewRejected': 'Rejected',
  'stats.chart.revenueByCategory': 'Trip prices by car category',
  'stats.chart.tripsByZone': 'Trips by end zone',
  'stats.chart.revenueByZone': 'Trip prices by end zone',
  'stats.chart.failedByReason': 'Failed trip starts by reason',
  'stats.nothing': 'Nothing of this kind happened in the period.',
} as const;

export type StatsStringKey = keyof typeof en;

const de: Record<StatsStringKey, string> = {
  'stats.chart.rates': 'Kundenweg (%)',
  'stats.line.unlockSuccess': 'Entriegelungen, die das Fahrzeug öffneten',
  'stats.line.conversion': 'Suchen mit anschließender Reservierung',
  'stats.line.approvalRate': 'Führerscheine bestätigt',
  'stats.line.searched': 'Kunden, die suchten',
  'stats.line.reservedAfterSearch': 'Nach der Suche reserviert',
  'stats.line.tripPrices': 'Fahrpreise',
  'stats.line.fleet': 'Fahrzeuge in der Flotte',
  'stats.chart.utilisation': 'Auslastung nach Fahrzeugklasse (%)',
  'stats.note.utilisation': 'Fahrzeit beendeter Fahrten ÷ (Fahrzeuge der Flotte × Zeitraum): eine Stunde füllt sich, wenn ihre Fahrten enden.',
  'stats.line.allCars': 'Alle Fahrzeuge',
  'stats.category.small': 'Klein',
  'stats.category.compact': 'Kompakt',
  'stats.category.premium': 'Premium',
  'stats.category.van': 'Transporter',
  'stats.chart.review': 'Wartezeit auf die Führerscheinprüfung (Mittel, Minuten)',
  'stats.line.reviewVerified': 'Bestätigt',
  'stats.line.reviewRejected': 'Abgelehnt',
  'stats.chart.revenueByCategory': 'Fahrpreise nach Fahrzeugklasse',
  'stats.chart.tripsByZone': 'Fahrten nach Zielzone',
  'stats.chart.revenueByZone': 'Fahrpreise nach Zielzone',
  'stats.chart.failedByReason': 'Fehlstarts nach Grund',
  'stats.nothing': 'Im Zeitraum ist nichts dieser Art geschehen.',
};

const tables: Record<Language, Record<StatsStringKey, string>> = { en, de };

export function statsText(language: Language, key: StatsStringKey): string {
  return tables[language][key];
}

export function isStatsStringKey(key: string): key is StatsStringKey {
  return key in en;
}
