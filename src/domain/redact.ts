/**
 * Removes absolute file-system paths from a message a client may read ("ENOENT: no such file
 * or directory, open '/srv/storage/uploads/x.png'" becomes "... open '<path>'"). A path tells
 * an attacker the server's layout and user names; the log keeps the full error. URLs are left
 * alone: their path follows a host, not a quote, space or the start of the text.
 */
export function redactPaths(message: string): string {
  return message.replace(
    /(?<![\w:/.\]@%-])(?:\/[^\s'"`/\\:,;()<>]+){2,}\/?|(?<![\w:/.])\/(?:tmp|srv|home|var|etc|root|usr|opt|proc|mnt|data|app|work)\b[^\s'"`,;()<>]*/g,
    '<path>',
  );
}
