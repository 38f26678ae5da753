import { describe, expect, it } from 'vitest';
import { assertMultipartParserPatched } from '../../src/http/multipart-patch.js';

describe('the multipart parser patch guard', () => {
  it('passes on the installed graphql-upload-minimal, which patch-package patched on install', () => {
    expect(() => assertMultipartParserPatched()).not.toThrow();
  });

  it('refuses the unpatched source, naming the command that fixes it', () => {
    const unpatched = 'parser.once("filesLimit", () => exit(`...`, 413));\n        parser.once("error", exit);';
    expect(() => assertMultipartParserPatched(unpatched)).toThrow(/npx patch-package/);
  });
});
