import type * as PhoneNumbers from 'libphonenumber-js/max';

/**
 * libphonenumber's full metadata costs a process about 14 MB, so it is loaded on the first phone number, not by
 * every process that loads core: the in-app, webhook and push roles never see one (docs/benchmarks.md, idle RSS).
 */
let phoneNumbers: typeof PhoneNumbers | undefined;
function parsePhoneNumber(text: string): PhoneNumbers.PhoneNumber | undefined {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a synchronous, first-use load (see above)
  phoneNumbers ??= require('libphonenumber-js/max') as typeof PhoneNumbers;
  return phoneNumbers.parsePhoneNumberFromString(text);
}

/** Channels whose addresses can be suppressed (push tokens and endpoints are deactivated instead). */
export type SuppressibleChannel = 'email' | 'sms';

/**
 * One spelling per address, so a suppression matches however the address was written: an email's
 * domain is case-insensitive (its local part, strictly, is not, so it is kept); a phone number is
 * its E.164 form. Returns null for something that is not an address of the channel.
 */
export function normalizeAddress(channel: SuppressibleChannel, address: string): string | null {
  const trimmed = address.trim();
  if (channel === 'email') {
    const at = trimmed.lastIndexOf('@');
    if (at < 1 || at === trimmed.length - 1 || /\s/.test(trimmed)) return null;
    return `${trimmed.slice(0, at)}@${trimmed.slice(at + 1).toLowerCase()}`;
  }
  const phone = parsePhoneNumber(trimmed);
  return phone?.isPossible() ? phone.number : null;
}
