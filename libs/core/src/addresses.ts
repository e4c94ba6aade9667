import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

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
  const phone = parsePhoneNumberFromString(trimmed);
  return phone?.isPossible() ? phone.number : null;
}
