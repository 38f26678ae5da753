/**
 * Where a cloud URL may point. A provider's answer, and a record's stored cloud URL, are
 * untrusted: an answer could name `http://<provider host>:<other port>/` (a service on the
 * provider's machine, or on ours when the provider is self-hosted) or smuggle credentials
 * (`http://evil@host/`). Every use checks the whole origin: scheme, host and port.
 *
 * An allowed entry is one of:
 * - `host`: that host on the default port of https (or of http, where http is allowed);
 * - `host:port`: that host on that port;
 * - `scheme://host[:port]`: exactly that origin (a self-hosted or emulated endpoint).
 * Hosts match whole: `i.ibb.co` does not allow `evili.ibb.co` or `i.ibb.co.evil.example`.
 */
export function originRefusal(url: string, allowed: readonly string[], requireHttps: boolean): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'it is not a valid URL';
  }
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && !requireHttps)) {
    return `its scheme "${parsed.protocol}" is not allowed (${requireHttps ? 'https' : 'http or https'} only)`;
  }
  if (parsed.username || parsed.password) return 'it carries credentials';
  const port = effectivePort(parsed);
  const host = parsed.hostname.toLowerCase();
  const ok = allowed.some((entry) => {
    const a = parseEntry(entry);
    if (!a || a.host !== host) return false;
    if (a.protocol && a.protocol !== parsed.protocol) return false;
    return (a.port ?? defaultPort(parsed.protocol)) === port;
  });
  if (!ok)
    return `its origin ${parsed.protocol}//${host}:${port} is not one of the allowed (${allowed.join(', ') || 'none'})`;
  return null;
}

function defaultPort(protocol: string): string {
  return protocol === 'https:' ? '443' : '80';
}

function effectivePort(u: URL): string {
  return u.port || defaultPort(u.protocol);
}

function parseEntry(entry: string): { protocol: string | null; host: string; port: string | null } | null {
  const e = entry.trim().toLowerCase();
  if (e.includes('://')) {
    try {
      const u = new URL(e);
      return { protocol: u.protocol, host: u.hostname, port: effectivePort(u) };
    } catch {
      return null;
    }
  }
  // host, or host:port (an IPv6 literal is written in brackets: [::1]:8080).
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(e);
  if (!m) return null;
  return { protocol: null, host: m[1] as string, port: m[2] ?? null };
}

/** The entry allowing exactly the origin of `url` (an API endpoint's own origin). */
export function originOf(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}
