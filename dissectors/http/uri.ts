/**
 * The path of a request target as a server would resolve it, after Haka's `uri.normalize`: so
 * that a rule on `/admin` is not passed by `/%61dmin`, `/x/../admin` or `//admin`. Percent-
 * encoded octets are decoded (RFC 3986 §2.1; a `%` not followed by two hex digits stays as
 * it is), dot segments removed (§5.2.4), runs of slashes collapsed. The query is not part of it.
 */

/** The path part of a request target: origin-form `/a/b?q`, absolute-form `http://h/a/b?q`; '' for `*` and authority-form. */
export function targetPath(target: string): string {
  let start = 0;
  if (target.charCodeAt(0) !== 0x2f) {
    // absolute-form (RFC 9112 §3.2.2): the path starts after the authority.
    const scheme = target.indexOf('://');
    if (scheme < 0) return '';
    const slash = target.indexOf('/', scheme + 3);
    if (slash < 0) return '/';
    start = slash;
  }
  let end = target.length;
  const q = target.indexOf('?', start);
  if (q >= 0) end = q;
  const h = target.indexOf('#', start);
  if (h >= 0 && h < end) end = h;
  return target.slice(start, end);
}

/** The query of a request target, without its `?`; '' when it has none. */
export function targetQuery(target: string): string {
  const q = target.indexOf('?');
  if (q < 0) return '';
  const h = target.indexOf('#', q);
  return target.slice(q + 1, h < 0 ? target.length : h);
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  c |= 0x20;
  return c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
}

/** Decodes every `%XX` once (latin1: each octet one character); `%252e` stays `%2e`, as a server decodes it. */
export function percentDecode(s: string): string {
  let i = s.indexOf('%');
  if (i < 0) return s;
  let out = '';
  let from = 0;
  while (i >= 0 && i + 2 < s.length) {
    const a = hex(s.charCodeAt(i + 1));
    const b = hex(s.charCodeAt(i + 2));
    if (a >= 0 && b >= 0) {
      out += s.slice(from, i) + String.fromCharCode(a * 16 + b);
      from = i + 3;
      i = s.indexOf('%', from);
    } else {
      i = s.indexOf('%', i + 1);
    }
  }
  return out + s.slice(from);
}

/** Removes `.` and `..` segments (RFC 3986 §5.2.4) and empty ones (a run of slashes is one). */
export function removeDotSegments(path: string): string {
  const absolute = path.charCodeAt(0) === 0x2f;
  const trailing = path.length > 1 && (path.endsWith('/') || path.endsWith('/.') || path.endsWith('/..'));
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  const joined = out.join('/');
  if (joined === '') return absolute ? '/' : '';
  return (absolute ? '/' : '') + joined + (trailing ? '/' : '');
}

/** The normalised path of a request target. */
export function normalizePath(target: string): string {
  const path = targetPath(target);
  // Most paths are already normal: nothing encoded, no dot segment, no empty one.
  if (path === '' || (!path.includes('%') && !path.includes('/.') && !path.includes('//'))) return path;
  return removeDotSegments(percentDecode(path));
}
