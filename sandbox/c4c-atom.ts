/**
 * C4C's default format: an answer is Atom XML unless JSON is asked for (`$format=json` or
 * `Accept: application/json`). The simulator builds its answers as OData JSON; this turns one
 * into what C4C sends without that request: a feed (with its `next` link), an entry, or an XML
 * error. Imports nothing from lib/.
 */

const NS = 'xmlns="http://www.w3.org/2005/Atom" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices"';

const esc = (v: unknown): string => String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

type Row = Record<string, unknown>;

function entry(row: Row, ns = ''): string {
  const meta = (row.__metadata ?? {}) as { uri?: string; type?: string };
  const links: string[] = [];
  const props: string[] = [];
  for (const [k, v] of Object.entries(row)) {
    if (k === '__metadata') continue;
    const deferred = v && typeof v === 'object' ? (v as { __deferred?: { uri?: string } }).__deferred : undefined;
    if (deferred) links.push(`<link rel="http://schemas.microsoft.com/ado/2007/08/dataservices/related/${k}" title="${k}" href="${esc(deferred.uri ?? '')}"/>`);
    else if (v === null || v === undefined) props.push(`<d:${k} m:null="true"/>`);
    else if (typeof v !== 'object') props.push(`<d:${k}>${esc(v)}</d:${k}>`);
  }
  return `<entry${ns}><id>${esc(meta.uri ?? '')}</id><category term="${esc(meta.type ?? '')}" scheme="http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"/><link rel="edit" href="${esc(meta.uri ?? '')}"/>${links.join('')}<content type="application/xml"><m:properties>${props.join('')}</m:properties></content></entry>`;
}

/** The Atom (or XML error) form of a JSON answer body; undefined for a body that is no OData entity, collection or error. */
export function simAtom(json: string): { body: string; contentType: string } | undefined {
  let parsed: { d?: { results?: unknown; __next?: string }; error?: { code?: string; message?: { lang?: string; value?: string } } };
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  const head = '<?xml version="1.0" encoding="utf-8"?>';
  if (parsed?.error) {
    const e = parsed.error;
    return { contentType: 'application/xml', body: `${head}<error xmlns="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"><code>${esc(e.code ?? '')}</code><message xml:lang="${esc(e.message?.lang ?? 'en')}">${esc(e.message?.value ?? '')}</message></error>` };
  }
  const results = parsed?.d?.results;
  if (Array.isArray(results)) {
    const next = parsed.d?.__next ? `<link rel="next" href="${esc(parsed.d.__next)}"/>` : '';
    return { contentType: 'application/atom+xml;type=feed; charset=utf-8', body: `${head}<feed ${NS}>${(results as Row[]).map((r) => entry(r)).join('')}${next}</feed>` };
  }
  if (results && typeof results === 'object') return { contentType: 'application/atom+xml;type=entry; charset=utf-8', body: `${head}${entry(results as Row, ` ${NS}`)}` };
  return undefined;
}
