// Helpers that the page's modules share: DOM shortcuts, the node's JSON
// answers, peer IDs. Everything that came off the network is written with
// textContent, never as HTML.

export const $ = (id) => document.getElementById(id);

export function setText(id, text) {
  const e = typeof id === 'string' ? $(id) : id;
  if (e.textContent !== text) e.textContent = text;
}

export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// Unauthorized says the node wants its token.
export class Unauthorized extends Error {}

export async function fetchOK(path) {
  const r = await fetch(path, { cache: 'no-store' });
  if (r.status === 401) throw new Unauthorized(path + ': token needed');
  if (!r.ok) throw new Error(await errorText(r, path));
  return r;
}

export async function getJSON(path) {
  return (await fetchOK(path)).json();
}

// postJSON posts body as JSON and returns the answer's JSON; a refusal
// throws an Error with the node's own words ({"error": "..."}).
export async function postJSON(path, body) {
  const r = await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (r.status === 401) throw new Unauthorized(path + ': token needed');
  if (!r.ok) throw new Error(await errorText(r, path));
  return r.json();
}

// errorText is the node's error message of a refused request, or its status.
async function errorText(r, path) {
  const body = await r.json().catch(() => ({}));
  return body.error || path + ': ' + r.status + ' ' + r.statusText;
}

// shortID is the first block of a peer ID: enough to tell peers apart on
// one screen; the full ID goes into the element's title.
export const shortID = (id) => String(id || '').slice(0, 8);

// peerLabel is an element that names a peer: its short ID, and "you" for
// this node.
export function peerLabel(id, self) {
  const s = el('span', 'peer');
  s.title = id;
  s.append(el('code', '', shortID(id)));
  if (id === self) s.append(el('span', 'you', 'you'));
  return s;
}

// Stream keeps a server-sent-events stream open: it opens it when the page
// asks (after a successful poll, so never while the node wants its token),
// calls onOpen each time it (re)connects, so that the caller reads what
// it may have missed, and tries again at most every RETRY_MS once the
// browser gave up (a 401, or 503 when the node holds too many streams).
const RETRY_MS = 3000;

export class Stream {
  constructor(path, handlers, onState) {
    this.path = path;
    this.handlers = handlers; // event name -> function(data)
    this.onState = onState; // 'live', 'connecting' or 'down'
    this.es = null;
    this.retryAt = 0;
  }

  // ensure opens the stream unless it is open or waiting to retry.
  ensure() {
    if (this.es || Date.now() < this.retryAt) return;
    const es = new EventSource(this.path);
    this.es = es;
    this.onState('connecting');
    es.onopen = () => {
      this.onState('live');
      if (this.handlers.open) this.handlers.open();
    };
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up: try again later.
        es.close();
        this.es = null;
        this.retryAt = Date.now() + RETRY_MS;
        this.onState('down');
      } else {
        this.onState('connecting'); // the browser reconnects by itself
      }
    };
    for (const [name, fn] of Object.entries(this.handlers)) {
      if (name === 'open') continue;
      es.addEventListener(name, (ev) => {
        let data;
        try {
          data = JSON.parse(ev.data);
        } catch {
          return;
        }
        fn(data);
      });
    }
  }
}

// streamState shows a stream's state in the element id.
export function streamState(id) {
  const words = { live: 'live', connecting: 'connecting…', down: 'offline' };
  return (state) => {
    const e = $(id);
    e.className = 'stream-state ' + state;
    setText(e, words[state]);
  };
}
