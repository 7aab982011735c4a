/** Calendar dates as `YYYY-MM-DD` strings: they sort and compare as text. */

export function isCalendarDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return false;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return date.toISOString().slice(0, 10) === value;
}

/** The UTC calendar date of an instant: licences expire by date, and the platform keeps UTC. */
export function calendarDateOf(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

export function addDays(date: string, days: number): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10);
}

/** Whole years between `birthDate` and `on` (a birthday on 29 February counts from 1 March in other years). */
export function ageOn(birthDate: string, on: string): number {
  const [birthYear, birthRest] = [Number(birthDate.slice(0, 4)), birthDate.slice(5)];
  const [year, rest] = [Number(on.slice(0, 4)), on.slice(5)];
  return year - birthYear - (rest < birthRest ? 1 : 0);
}
