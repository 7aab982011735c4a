/** Where a method answers over HTTP, and its route template in server spans, metrics and logs. */
export function rpcPath(service: string, method: string): string {
  return `/rpc/${service}/${method}`;
}
