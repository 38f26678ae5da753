/**
 * decodeBase64Image's refusals and the forms it accepts, written to kill the mutants
 * `npm run mutate -- byte-limits` found surviving (README: Mutation testing): anything that is
 * not base64, base64url or a data: URI around one is BAD_USER_INPUT with a message that says so,
 * and white space anywhere inside the payload is ignored, as browsers' line-wrapped output has it.
 */
import { describe, expect, it } from 'vitest';
import { BadUserInputError } from '../../src/domain/errors.js';
import { base64DecodedLength, decodeBase64Image } from '../../src/files/read-limited.js';

const bytes = Buffer.from([0xfb, 0xff, 0xfe, 0x00, 0x10, 0x83, 0x7f]); // '+', '/', '-', '_' all appear
const MAX = 1024;

describe('decodeBase64Image accepts', () => {
  it('standard base64 and base64url, to the same bytes', () => {
    expect(bytes.toString('base64')).toMatch(/[+/]/);
    expect(bytes.toString('base64url')).toMatch(/[-_]/);
    expect(decodeBase64Image(bytes.toString('base64'), MAX)).toEqual(bytes);
    expect(decodeBase64Image(bytes.toString('base64url'), MAX)).toEqual(bytes);
  });

  it('white space anywhere in the payload, runs of it included', () => {
    const b64 = bytes.toString('base64');
    const wrapped = `  ${b64.slice(0, 3)}\r\n\t${b64.slice(3, 6)}   ${b64.slice(6)}\n`;
    expect(decodeBase64Image(wrapped, MAX)).toEqual(bytes);
    expect(base64DecodedLength(wrapped)).toBe(bytes.length);
  });

  it('a data: URI with parameters before ;base64, whatever its mime type says', () => {
    const b64 = bytes.toString('base64');
    for (const prefix of [
      'data:image/png;base64,',
      'data:;base64,',
      'DATA:image/svg+xml;charset=utf-8;name=a.png;base64,',
    ])
      expect(decodeBase64Image(prefix + b64, MAX), prefix).toEqual(bytes);
  });
});

describe('decodeBase64Image refuses, with BAD_USER_INPUT saying why', () => {
  const refusal = (input: string) => {
    try {
      decodeBase64Image(input, MAX);
    } catch (e) {
      expect(e).toBeInstanceOf(BadUserInputError);
      return (e as BadUserInputError).message;
    }
    throw new Error(`accepted ${JSON.stringify(input)}`);
  };

  it('an empty payload, or one of white space, or a data: URI with nothing after it', () => {
    for (const input of ['', '  \n', 'data:image/png;base64,'])
      expect(refusal(input)).toBe('base64 is empty: send the image bytes, base64-encoded.');
  });

  it('characters of neither alphabet, wherever they are: first, last, or between', () => {
    const b64 = bytes.toString('base64');
    for (const input of [`*${b64}`, `${b64}*`, `${b64.slice(0, 4)}.${b64.slice(4)}`, '%%%%', 'AAAA=A'])
      expect(refusal(input), input).toBe('base64 is not valid base64 (or a data: URI with ;base64,).');
  });

  it('the two alphabets mixed, more than two padding characters, or padding in base64url', () => {
    for (const input of ['ab+_', 'AAA===', 'ab-c=='])
      expect(refusal(input), input).toBe('base64 is not valid base64 (or a data: URI with ;base64,).');
  });

  it('a data: URI that does not say ;base64, or has junk before data:', () => {
    const b64 = bytes.toString('base64');
    for (const input of [`data:image/png,${b64}`, `xdata:image/png;base64,${b64}`, `data:image/png;x;base64,${b64}`])
      expect(refusal(input), input).toBe('base64 is not valid base64 (or a data: URI with ;base64,).');
  });
});
