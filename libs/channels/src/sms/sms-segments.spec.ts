import { smsSegments } from './sms-segments';

describe('SMS segments', () => {
  it.each([
    ['', 1],
    ['a'.repeat(160), 1],
    ['a'.repeat(161), 2],
    ['a'.repeat(306), 2],
    ['a'.repeat(307), 3],
    ['€'.repeat(80), 1], // escape characters cost two septets: 160
    ['€'.repeat(81), 2],
    ['é'.repeat(160), 1], // é is in the GSM basic set
    ['ł'.repeat(70), 1], // ł is not: UCS-2
    ['ł'.repeat(71), 2],
    ['😀'.repeat(35), 1], // surrogate pairs count twice in UCS-2
    ['😀'.repeat(36), 2],
  ])('%j takes %i', (text, expected) => {
    expect(smsSegments(text)).toBe(expected);
  });
});
