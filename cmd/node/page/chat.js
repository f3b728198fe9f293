// The chat panel: the newest page of the history (GET /api/chat), older
// pages on demand (?before=the answer's "next"), new messages as they come
// (GET /api/chat/stream, server-sent events), and a form that posts
// (POST /api/chat). Messages show in history order (Lamport time, then
// author, then ID: the order every node computes), each once, with its
// author's short peer ID, "you" for this node's own, and whether it is
// signed where the node says so ("signed"/"key"; older nodes say nothing).
import { $, el, setText, getJSON, postJSON, peerLabel, Stream, streamState } from './common.js';

const PAGE = 50; // messages per page
const MAX_TEXT = 1000; // bytes of UTF-8, as the chat allows

let self = '';
const shown = new Map(); // message ID -> its <li>
let next; // cursor of the page before the oldest shown; undefined before the first page, null when there is none

const stream = new Stream('/api/chat/stream', {
  open: loadNewest,
  message: (m) => add([m]),
}, streamState('chat-state'));

// order compares two messages as histories do.
function order(a, b) {
  if (a.lamport !== b.lamport) return a.lamport < b.lamport ? -1 : 1;
  if (a.author !== b.author) return a.author < b.author ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function render(m) {
  const li = el('li', 'msg' + (m.author === self ? ' mine' : ''));
  li.dataset.id = m.id;
  li.msg = m;
  const meta = el('div', 'meta');
  meta.append(peerLabel(m.author, self));
  if (m.signed === true) {
    const b = el('span', 'badge verified', 'signed');
    b.title = m.key ? 'signed by key ' + m.key : 'signed by its author';
    meta.append(b);
  } else if (m.signed === false) {
    const b = el('span', 'badge candidate', 'unsigned');
    b.title = 'not signed: anyone could have written it under this author';
    meta.append(b);
  }
  li.append(meta, el('p', 'text', m.text));
  return li;
}

// add shows the messages not shown yet, each in its place, and keeps the
// log at the bottom if it was there.
function add(msgs) {
  const log = $('chat-log');
  const list = $('chat-messages');
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  for (const m of msgs) {
    if (!m || typeof m.id !== 'string' || shown.has(m.id)) continue;
    const li = render(m);
    shown.set(m.id, li);
    // Most messages are the newest: look from the end.
    let after = list.lastElementChild;
    while (after && order(after.msg, m) > 0) after = after.previousElementSibling;
    if (after) after.after(li);
    else list.prepend(li);
  }
  $('chat-empty').hidden = shown.size > 0;
  if (atBottom) log.scrollTop = log.scrollHeight;
}

// loadNewest reads the newest page, each time the stream (re)connects: it
// has what the stream may have missed. When none of it was shown, the gap
// to what is shown may hold more than a page: then it starts over.
async function loadNewest() {
  try {
    const page = await getJSON('/api/chat?limit=' + PAGE);
    const msgs = page.messages || [];
    if (shown.size && msgs.length && !msgs.some((m) => shown.has(m.id))) {
      shown.clear();
      $('chat-messages').replaceChildren();
      next = undefined;
    }
    if (next === undefined) next = page.next;
    add(msgs);
    showOlder();
    $('chat-log').scrollTop = $('chat-log').scrollHeight;
  } catch (err) {
    setText('chat-error', String(err.message || err));
  }
}

function showOlder() {
  $('chat-older').hidden = next === null || next === undefined;
}

// older reads the page before the oldest shown and keeps the view where
// it was.
async function older() {
  const btn = $('chat-older');
  const log = $('chat-log');
  btn.disabled = true;
  try {
    const page = await getJSON('/api/chat?limit=' + PAGE + '&before=' + encodeURIComponent(next));
    const from = log.scrollHeight - log.scrollTop;
    next = page.next;
    add(page.messages || []);
    log.scrollTop = log.scrollHeight - from;
    setText('chat-error', '');
  } catch (err) {
    setText('chat-error', String(err.message || err));
  } finally {
    btn.disabled = false;
    showOlder();
  }
}

async function send(ev) {
  ev.preventDefault();
  const input = $('chat-text');
  const text = input.value;
  const bytes = new TextEncoder().encode(text).length;
  if (text.trim() === '') {
    setText('chat-error', 'Write something first.');
    input.focus();
    return;
  }
  if (bytes > MAX_TEXT) {
    setText('chat-error', 'Too long: ' + bytes + ' bytes, and a message holds at most ' + MAX_TEXT + '.');
    input.focus();
    return;
  }
  const btn = $('chat-send');
  btn.disabled = true;
  try {
    const m = await postJSON('/api/chat', { text });
    input.value = '';
    setText('chat-error', '');
    add([m]);
    $('chat-log').scrollTop = $('chat-log').scrollHeight;
  } catch (err) {
    setText('chat-error', String(err.message || err));
  } finally {
    btn.disabled = false;
    input.focus();
  }
}

// update is called with every /status: it shows the panel if the node
// runs the chat, and keeps the stream open.
export function update(st) {
  self = st.peer_id;
  const runs = (st.communities || []).some((c) => c.name === 'chat');
  $('chat').hidden = !runs;
  if (runs) stream.ensure();
}

$('chat-form').addEventListener('submit', send);
$('chat-text').addEventListener('input', () => setText('chat-error', ''));
$('chat-older').addEventListener('click', older);
