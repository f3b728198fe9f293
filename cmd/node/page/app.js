// The walkie page: a person chats and plays here (chat.js, game.js), and
// sees the node's status. Every POLL_MS it fetches /status (JSON with
// core.Status's field names, a contract), /metrics (the Prometheus text,
// so the page shows exactly what a scraper sees) and /history (peer counts
// for the chart), and redraws; each poll also hands /status to the chat
// and the game, which keep their event streams open. Everything that came
// off the network (peer IDs, addresses, community names, messages) is
// written with textContent, never as HTML.
// A node whose HTTP server listens beyond loopback answers 401 until the
// page has logged in: then the page shows a form for the token, POSTs it to
// /login, which sets an HttpOnly cookie that every later request carries
// (the event streams' too), and polls again.
import { $, setText, el, Unauthorized, fetchOK } from './common.js';
import * as chat from './chat.js';
import * as game from './game.js';

const POLL_MS = 1500;
const CHART_MAX_SPAN_MS = 10 * 60 * 1000; // the chart shows at most 10 minutes
const CHART_MIN_SPAN_MS = 10 * 1000; // a young node's chart spans its life
const SVG_NS = 'http://www.w3.org/2000/svg';

// parseMetrics reads the walkie_ series of the Prometheus text format into
// {name: [{labels: {...}, value}]}.
function parseMetrics(text) {
  const out = {};
  const line = /^(walkie_[a-zA-Z0-9_]*)(?:\{(.*)\})?\s+(\S+)/;
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const l of text.split('\n')) {
    const m = line.exec(l);
    if (!m) continue;
    const labels = {};
    for (const lm of (m[2] || '').matchAll(label)) labels[lm[1]] = lm[2];
    (out[m[1]] = out[m[1]] || []).push({ labels, value: Number(m[3]) });
  }
  return out;
}

// metric sums the series of name whose labels match want.
function metric(ms, name, want = {}) {
  let sum = 0;
  for (const s of ms[name] || []) {
    if (Object.entries(want).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

const fmtInt = (n) => Math.round(n).toLocaleString('en-US');

function fmtDuration(ms) {
  if (ms < 1) return Math.round(ms * 1000) + ' µs';
  if (ms < 10) return ms.toFixed(1) + ' ms';
  if (ms < 1000) return Math.round(ms) + ' ms';
  const s = ms / 1000;
  if (s < 60) return (s < 10 ? s.toFixed(1) : Math.round(s)) + ' s';
  const m = Math.floor(s / 60);
  if (m < 60) return m + ' min ' + Math.floor(s % 60) + ' s';
  const h = Math.floor(m / 60);
  if (h < 48) return h + ' h ' + (m % 60) + ' min';
  return Math.floor(h / 24) + ' d ' + (h % 24) + ' h';
}

// fmtAgo is an axis label: whole seconds or minutes.
function fmtAgo(ms) {
  if (ms < 10000) return String(Math.round(ms / 100) / 10) + ' s';
  const s = Math.round(ms / 1000);
  if (s < 120) return s + ' s';
  return (s % 60 === 0 ? s / 60 : (s / 60).toFixed(1)) + ' min';
}

// nowMS is the node's clock (from /history), so that a browser on another
// machine with a skewed clock still shows the right uptime.
function renderSummary(st, ms, nowMS) {
  setText('peer-id', st.peer_id);
  document.title = 'walkie ' + st.peer_id.slice(0, 8);
  setText('lan', st.lan || '—');
  if (st.wan) setText('wan', st.wan);
  else if (st.wan_ip) setText('wan', st.wan_ip + ' (port varies)');
  else if (st.wan_ip_provisional) setText('wan', st.wan_ip_provisional + ' (one observer so far)');
  else setText('wan', 'not known yet');
  const nat = $('nat');
  setText('nat', st.nat_ports ? st.nat + ', ' + st.nat_ports + ' ports' : st.nat);
  nat.className = 'badge ' + st.nat;
  const upMS = nowMS - Date.parse(st.started_at);
  setText('uptime', fmtDuration(upMS));

  const peers = st.peers || [];
  const verified = peers.filter((p) => p.verified).length;
  setText('verified', String(verified));
  setText('candidates', String(peers.length - verified));
  // first_peer_ms is whole milliseconds: 0 means under one.
  let first = 'waiting…';
  if (st.first_peer_ms != null) first = st.first_peer_ms < 1 ? 'after < 1 ms' : 'after ' + fmtDuration(st.first_peer_ms);
  setText('first-peer', first);

  const c = (name) => fmtInt(metric(ms, name));
  setText('c-introreq-sent', c('walkie_introduction_requests_sent_total'));
  setText('c-introreq-recv', c('walkie_introduction_requests_received_total'));
  setText('c-introresp-sent', c('walkie_introduction_responses_sent_total'));
  setText('c-introresp-recv', c('walkie_introduction_responses_received_total'));
  setText('c-preq-sent', c('walkie_puncture_requests_sent_total'));
  setText('c-preq-recv', c('walkie_puncture_requests_received_total'));
  setText('c-pun-sent', c('walkie_punctures_sent_total'));
  setText('c-pun-recv', c('walkie_punctures_received_total'));
  setText('pun-ok', fmtInt(metric(ms, 'walkie_punctures_total', { result: 'success' })));
  setText('pun-fail', fmtInt(metric(ms, 'walkie_punctures_total', { result: 'failure' })));
  const pp = st.port_prediction || {};
  setText('pp', pp.attempts ? fmtInt(pp.attempts) + ' attempts, ' + fmtInt(pp.successes) + ' through, ' +
    fmtInt(pp.probes_sent) + ' probes' : 'none');
  const n = metric(ms, 'walkie_introduction_rtt_seconds_count');
  const sum = metric(ms, 'walkie_introduction_rtt_seconds_sum');
  setText('rtt', n > 0 ? fmtDuration((sum / n) * 1000) + ' avg' : 'not measured yet');
  setText('pkts', fmtInt(st.packets_sent || 0));
  // The node reports the last full minute, so nothing in the first one.
  setText('pkts-min', upMS < 60000 ? '—' : fmtInt(st.packets_sent_per_min || 0));
  setText('dropped', fmtInt(metric(ms, 'walkie_packets_dropped_total')));
  setText('wan-changes', c('walkie_wan_address_changes_total'));
}

function renderPeers(st) {
  const peers = st.peers || [];
  const verified = peers.filter((p) => p.verified).length;
  const seeds = st.seed_peers || [];
  setText('peer-count', verified + ' verified, ' + (peers.length - verified) + ' candidates' +
    (seeds.length ? ', ' + seeds.length + ' of the 2016 app' : ''));
  const body = $('peers');
  const rows = [];
  for (const p of peers) {
    const tr = el('tr');
    tr.dataset.peer = p.id;
    const id = el('td', 'id');
    id.append(el('code', '', p.id));
    tr.append(id);
    const addr = el('td');
    addr.append(el('code', '', p.addr || '—'));
    tr.append(addr);
    const lan = el('td');
    lan.append(el('code', '', p.lan || '—'));
    tr.append(lan);
    const state = el('td');
    // Authenticated: the peer proved the key its ID is made of.
    const kind = p.authenticated ? 'authenticated' : p.verified ? 'verified' : 'candidate';
    state.append(el('span', 'badge ' + (p.verified ? 'verified' : 'candidate'), kind));
    tr.append(state);
    // A verified peer hears from us every 20 s and times out at 60 s:
    // past 25 s it is worth a glance.
    tr.append(el('td', p.last_seen_ms > 25000 ? 'stale' : '', fmtDuration(p.last_seen_ms) + ' ago'));
    const comms = el('td');
    for (const c of p.communities || []) comms.append(el('span', 'chip', c));
    if (!comms.childElementCount) comms.append(el('span', 'stale', '—'));
    tr.append(comms);
    rows.push(tr);
  }
  // Nodes of the original 2016 app: their own 8-hex-digit IDs, never
  // authenticated, never members of a community.
  for (const s of seeds) {
    const tr = el('tr');
    tr.dataset.seed = s.id;
    const id = el('td', 'id');
    id.append(el('code', '', s.id));
    tr.append(id);
    const addr = el('td');
    addr.append(el('code', '', s.addr || '—'));
    tr.append(addr);
    tr.append(el('td', 'stale', '—'));
    const state = el('td');
    state.append(el('span', 'badge seed', '2016 app'));
    tr.append(state);
    tr.append(el('td', s.last_seen_ms > 25000 ? 'stale' : '', fmtDuration(s.last_seen_ms) + ' ago'));
    tr.append(el('td', 'stale', '—'));
    rows.push(tr);
  }
  if (!rows.length) {
    const tr = el('tr', 'empty');
    const td = el('td', '', 'no peers yet: walking…');
    td.colSpan = 6;
    tr.append(td);
    rows.push(tr);
  }
  body.replaceChildren(...rows);

  const cbody = $('communities');
  const crows = (st.communities || []).map((c) => {
    const tr = el('tr');
    const name = el('td');
    name.append(el('span', 'chip', c.name));
    tr.append(name);
    const id = el('td');
    id.append(el('code', '', c.id));
    tr.append(id, el('td', '', String(c.members)));
    return tr;
  });
  if (!crows.length) {
    const tr = el('tr', 'empty');
    const td = el('td', '', 'this node runs no communities');
    td.colSpan = 3;
    tr.append(td);
    crows.push(tr);
  }
  cbody.replaceChildren(...crows);
}

// stepPath draws the counts as steps: a count holds until the next change.
function stepPath(points, idx, x, y, nowMS) {
  let d = '';
  let prev = null;
  for (const p of points) {
    const px = x(p[0]);
    if (prev === null) d += 'M' + px + ',' + y(p[idx]);
    else d += 'H' + px + 'V' + y(p[idx]);
    prev = p;
  }
  return d + 'H' + x(nowMS);
}

function renderChart(hist, startedMS) {
  const svg = $('chart');
  const W = 1000;
  const H = 200;
  const now = hist.now_ms;
  const span = Math.min(CHART_MAX_SPAN_MS, Math.max(CHART_MIN_SPAN_MS, now - startedMS));
  const from = now - span;
  // The first point may lie before the window: it gives the starting level.
  const pts = hist.points.map((p) => [Math.max(p[0], from), p[1], p[2]]);
  let max = 4;
  for (const p of pts) max = Math.max(max, p[1], p[2]);
  const step = max <= 8 ? 2 : max <= 20 ? 5 : max <= 50 ? 10 : max <= 200 ? 50 : 100;
  max = Math.ceil((max + 0.5) / step) * step;
  const x = (t) => ((t - from) / span * W).toFixed(1);
  const y = (v) => (H - 4 - (v / max) * (H - 12)).toFixed(1);

  const parts = [];
  const ylabels = [];
  for (let v = 0; v <= max; v += step) {
    parts.push(['line', { class: 'grid', x1: 0, x2: W, y1: y(v), y2: y(v) }]);
    ylabels.push([v, (y(v) / H) * 100]);
  }
  if (startedMS > from) {
    // A young node: mark where its life, and the data, begin.
    parts.push(['line', { class: 'start', x1: x(startedMS), x2: x(startedMS), y1: 0, y2: H }]);
  }
  if (pts.length) {
    const verified = stepPath(pts, 1, x, y, now);
    parts.push(['path', { class: 'verified-area', d: verified + 'V' + y(0) + 'H' + x(pts[0][0]) + 'Z' }]);
    parts.push(['path', { class: 'candidate', d: stepPath(pts, 2, x, y, now) }]);
    parts.push(['path', { class: 'verified', d: verified }]);
  }
  svg.replaceChildren(...parts.map(([tag, attrs]) => {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    return e;
  }));
  $('chart-y').replaceChildren(...ylabels.map(([v, top]) => {
    const s = el('span', '', String(v));
    s.style.top = top + '%';
    return s;
  }));
  const axis = [];
  for (let i = 0; i <= 4; i++) {
    const ago = span * (1 - i / 4);
    const s = el('span', i === 0 ? 'first' : i === 4 ? 'last' : '', i === 4 ? 'now' : '−' + fmtAgo(ago));
    s.style.left = (i * 25) + '%';
    axis.push(s);
  }
  $('chart-axis').replaceChildren(...axis);
}

// setLive shows the state of the last poll: 'ok', 'down' or 'locked'.
function setLive(state, err) {
  const live = $('live');
  live.className = 'live ' + state;
  const text = { ok: 'live · every ' + POLL_MS / 1000 + ' s', down: 'node unreachable', locked: 'token needed' };
  setText('live-text', text[state]);
  live.title = err ? String(err) : '';
}

// locked is true while the polls wait for the token.
let locked = false;

function showLogin(on) {
  locked = on;
  $('login').hidden = !on;
  document.body.classList.toggle('locked', on);
  if (on) $('token').focus();
}

// login sends the token once; the node answers with the cookie.
async function login(ev) {
  ev.preventDefault();
  let msg = '';
  try {
    const r = await fetch('/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: $('token').value.trim() }),
    });
    if (r.ok) {
      $('token').value = '';
      setText('login-error', '');
      if (locked) {
        showLogin(false);
        tick();
      }
      return;
    }
    msg = (await r.json().catch(() => ({}))).error || 'login failed: ' + r.status;
  } catch (err) {
    msg = String(err);
  }
  setText('login-error', msg);
}

async function tick() {
  try {
    const [st, mt, hist] = await Promise.all([
      fetchOK('/status').then((r) => r.json()),
      fetchOK('/metrics').then((r) => r.text()),
      fetchOK('/history').then((r) => r.json()),
    ]);
    const ms = parseMetrics(mt);
    renderSummary(st, ms, hist.now_ms);
    renderPeers(st);
    renderChart(hist, Date.parse(st.started_at));
    chat.update(st);
    game.update(st);
    setLive('ok');
  } catch (err) {
    if (err instanceof Unauthorized) {
      // No more polls until the token is in: login() starts them again.
      setLive('locked', err);
      showLogin(true);
      return;
    }
    setLive('down', err);
  }
  setTimeout(tick, POLL_MS);
}

$('login').addEventListener('submit', login);
tick();
