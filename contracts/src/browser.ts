// What a browser app imports as `@carshare/contracts` (package.json's "browser" condition, which Vite
// follows): the contracts' data without TypeBox, generated, and the few functions the web client
// calls. Types still come from index.ts, which TypeScript resolves; a value a browser app imports
// that is missing here fails its Vite build.
export * from './browser.generated.ts';
export { idempotencyKeyOf } from './http/idempotency-key.ts';
