import { describe, expect, it } from 'vitest';
import { redactPaths } from '../../src/domain/redact.js';

describe('redactPaths', () => {
  it('replaces absolute paths in an error message', () => {
    expect(redactPaths("ENOENT: no such file or directory, open '/srv/storage/uploads/img_1.png'")).toBe(
      "ENOENT: no such file or directory, open '<path>'",
    );
    expect(redactPaths('EACCES: permission denied, mkdir /home/alice/app/storage/.tmp')).toBe(
      'EACCES: permission denied, mkdir <path>',
    );
    expect(redactPaths('cannot read /tmp')).toBe('cannot read <path>');
    expect(redactPaths('rename /a/b.part -> /a/c.png failed')).toBe('rename <path> -> <path> failed');
  });

  it('keeps URLs, keys and ordinary text', () => {
    const kept = [
      'The image host answered 500 for https://i.ibb.co/abc/def.png',
      'uploads/img_20260101_000000_abcd1234.png was not found',
      'expected image/png or image/jpeg',
      'at most 10 files (MAX_FILES); 1/2 sent',
    ];
    for (const m of kept) expect(redactPaths(m)).toBe(m);
  });
});
