/** Fills `{name}` placeholders; an unknown one stays visible rather than vanishing silently. */
export function format(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}
