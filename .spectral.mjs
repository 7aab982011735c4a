/**
 * Spectral ruleset for the gateway's OpenAPI document (DESIGN.md §4, issue 13): Spectral's own
 * OpenAPI rules plus the OWASP API Security Top 10 2023 ruleset, run by `npm test`
 * (services/gateway/src/openapi-lint.test.ts) on the document the gateway generates. 0 errors.
 *
 * No rule is switched off. One rule is raised to an error; three OWASP rules are re-declared
 * below with the same check on a narrower target; each says why. Everything else runs exactly as
 * the rulesets ship it.
 */
import { oas } from '@stoplight/spectral-rulesets';
import owasp from '@stoplight/spectral-owasp-ruleset';

/** Every schema of a request: query, path and header parameters, and bodies. */
const requestSchemas = (filter) => [`$.paths[*][*].parameters[*]..[?(${filter})]`, `$.paths[*][*].requestBody..[?(${filter})]`];
const isType = (type) => `@ && (@.type == "${type}" || (@.type && @.type.constructor.name === "Array" && @.type.includes("${type}")))`;

// eslint-disable-next-line no-restricted-syntax -- Spectral loads a ruleset file's default export
export default {
  extends: [oas, owasp],
  rules: {
    /**
     * Raised from a warning: clients are generated from this document and take their method
     * names from operationIds, so a missing one breaks a client build.
     */
    'operation-operationId': 'error',
    /**
     * API4 (resource consumption) is about what a client can make the server take in. Every
     * request string carries a maxLength that the gateway ENFORCES (defineHttpRoute and the
     * gateway's onRoute hook apply one to strings that have none; the same schema validates the
     * request). Response strings are written by the services from values those bounds already
     * limited; a maxLength on them would be a promise no code checks (the serializer does not
     * validate), and a generated client that validates responses would break the day one is
     * exceeded. So: same check, request schemas only.
     */
    'owasp:api4:2023-string-limit': { ...owasp.rules['owasp:api4:2023-string-limit'], given: requestSchemas(isType('string')) },
    /**
     * Same reasoning for arrays: request arrays get a maxItems that is enforced; response lists are
     * bounded by their page size (every list is cursor-paginated) or by the resource itself (a
     * street's coordinates), not by a number the serializer would check.
     */
    'owasp:api4:2023-array-limit': { ...owasp.rules['owasp:api4:2023-array-limit'], given: requestSchemas(isType('array')) },
    /**
     * The shipped rule looks at every property named `headers` anywhere (`$..headers`), so it also
     * demands CORS headers inside JSON bodies that have a data field called `headers` (the headers a
     * presigned upload URL needs). Same check, on HTTP response headers only.
     */
    'owasp:api8:2023-define-cors-origin': {
      ...owasp.rules['owasp:api8:2023-define-cors-origin'],
      given: ['$.paths[*][*].responses[*].headers', '$.components.responses[*].headers'],
    },
  },
};
