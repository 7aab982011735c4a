import { dictionary } from '@zxcvbn-ts/language-common';
import type { CommonPasswords } from '../ports.ts';

/**
 * The common-password list that @zxcvbn-ts/language-common ships (MIT; ~49k passwords seen most
 * often in breaches, lower case), as a set: a lookup is one hash probe. Loaded once per process,
 * about 1.7 MB of heap (measured, ADR 0017).
 */
export const shippedCommonPasswords: CommonPasswords = new Set(dictionary.passwords);
