/**
 * An HTTP/1.x request by its first bytes (Suricata's HTTP probing): a known method and a space.
 * Only methods servers serve: an unknown token could be any line protocol.
 */

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'REPORT'].map((m) => `${m} `);

/** True for a request line's start, false for anything else, undefined while too few bytes have come to tell. */
export function looksLikeRequest(head: Buffer): boolean | undefined {
  let maybe = false;
  for (const m of METHODS) {
    const n = Math.min(m.length, head.length);
    let k = 0;
    while (k < n && head[k] === m.charCodeAt(k)) k++;
    if (k < n) continue;
    if (n === m.length) return true;
    maybe = true;
  }
  return maybe ? undefined : false;
}
