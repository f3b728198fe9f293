// The game panel: challenge a player (a verified, authenticated peer that
// runs the game, from /status), play rock, paper or scissors, and see the
// results and the score table. Games and scores come from GET
// /api/game/games and /api/game/scores, then live from GET
// /api/game/stream: "challenge" (a new game, ours or an opponent's),
// "move" (a player committed a move; which one stays secret until the
// result) and "result" (with the record against that opponent).
import { $, el, setText, getJSON, postJSON, peerLabel, shortID, Stream, streamState } from './common.js';

const MOVES = ['rock', 'paper', 'scissors'];
const FINISHED_SHOWN = 8; // finished games listed below the open ones

let self = '';
let opponents = ''; // the IDs in the select, joined, to rebuild it only on change
const games = new Map(); // game ID -> game, as the API shows it
let scores = []; // as the API shows them, best first
const seen = new Set(); // games whose challenge was announced, or known before
let announced = ''; // the game the banner tells of

const stream = new Stream('/api/game/stream', {
  open: reload,
  challenge: (ev) => {
    upsert(ev.game);
    announce(ev.game);
  },
  move: (ev) => upsert(ev.game),
  result: (ev) => {
    upsert(ev.game);
    if (ev.score) setScore(ev.score);
  },
}, streamState('game-state'));

// reload reads the games and scores, each time the stream (re)connects:
// they hold what it may have missed.
async function reload() {
  try {
    const [g, s] = await Promise.all([getJSON('/api/game/games'), getJSON('/api/game/scores')]);
    games.clear();
    for (const x of g.games || []) {
      games.set(x.id, x);
      seen.add(x.id); // not news any more
    }
    scores = s.scores || [];
    renderGames();
    renderScores();
  } catch (err) {
    setText('game-error', String(err.message || err));
  }
}

// progress orders the states of a game: each step only ever goes forward.
const progress = (g) => (g.result ? 4 : 0) + (g.played ? 1 : 0) + (g.opponent_played ? 1 : 0);

// upsert shows g unless what is shown is further on: the answer to a move
// can arrive after the stream's result of that game.
function upsert(g) {
  if (!g || typeof g.id !== 'string') return;
  const had = games.get(g.id);
  if (had && progress(had) > progress(g)) return;
  games.set(g.id, g);
  if (g.id === announced && (g.played || g.result)) {
    announced = '';
    setText('game-announce', '');
  }
  renderGames();
}

function setScore(s) {
  scores = scores.filter((x) => x.peer !== s.peer);
  scores.push(s);
  scores.sort((a, b) => (b.wins - b.losses) - (a.wins - a.losses) || (a.peer < b.peer ? -1 : 1));
  renderScores();
}

// announce tells of an opponent's new challenge, once.
function announce(g) {
  if (g.challenger || g.result || seen.has(g.id)) return;
  seen.add(g.id);
  announced = g.id;
  setText('game-announce', shortID(g.peer) + ' challenges you: pick your move.');
}

// stateText says where a game stands, from our side.
function stateText(g) {
  switch (g.result) {
    case 'win':
      return g.theirs ? 'You won: ' + g.mine + ' beats ' + g.theirs + '.' : 'You won' + (g.reason ? ': ' + g.reason : '') + '.';
    case 'loss':
      return g.theirs ? 'You lost: ' + g.theirs + ' beats ' + g.mine + '.' : 'You lost' + (g.reason ? ': ' + g.reason : '') + '.';
    case 'draw':
      return 'Draw: both played ' + g.mine + '.';
    case 'void':
      return 'No result: ' + (g.reason || 'the game was abandoned') + '.';
  }
  if (!g.played) return g.opponent_played ? 'They have played. Your move:' : 'Your move:';
  if (!g.opponent_played) return 'You played ' + g.mine + '. Waiting for their move…';
  return 'You played ' + g.mine + '. Both have played: revealing…';
}

function renderGame(g) {
  const li = el('li', 'game-item ' + (g.result ? 'over ' + g.result : 'open') + (!g.challenger && !g.result ? ' incoming' : ''));
  li.dataset.game = g.id;
  if (g.result) li.dataset.result = g.result;
  li.tabIndex = -1; // focus lands here once a move is played
  const head = el('div', 'game-head');
  if (g.challenger) head.append('You challenged ', peerLabel(g.peer, self));
  else head.append(peerLabel(g.peer, self), ' challenged you');
  if (g.result) head.append(el('span', 'badge result ' + g.result, g.result === 'void' ? 'void' : g.result));
  li.append(head, el('p', 'game-state', stateText(g)));
  if (!g.result && !g.played) {
    const moves = el('div', 'moves');
    moves.setAttribute('role', 'group');
    moves.setAttribute('aria-label', 'your move against ' + shortID(g.peer));
    for (const m of MOVES) {
      const b = el('button', 'move', m[0].toUpperCase() + m.slice(1));
      b.type = 'button';
      b.dataset.move = m;
      b.addEventListener('click', () => play(g.id, m));
      moves.append(b);
    }
    li.append(moves);
  }
  return li;
}

// renderGames lists the open games, newest first, then the last finished
// ones. A game whose state did not change keeps its element, so that the
// focus stays on a move button while others change.
function renderGames() {
  const all = [...games.values()].sort((a, b) => Date.parse(b.started) - Date.parse(a.started) || (a.id < b.id ? -1 : 1));
  const open = all.filter((g) => !g.result);
  const over = all.filter((g) => g.result).slice(0, FINISHED_SHOWN);
  const list = $('games');
  const old = new Map([...list.children].map((li) => [li.dataset.game, li]));
  const items = [...open, ...over].map((g) => {
    const key = JSON.stringify(g);
    const li = old.get(g.id);
    if (li && li.key === key) return li;
    const fresh = renderGame(g);
    fresh.key = key;
    return fresh;
  });
  const same = items.length === list.children.length && items.every((li, i) => list.children[i] === li);
  if (!same) {
    const focused = list.contains(document.activeElement) ? document.activeElement : null;
    list.replaceChildren(...items);
    if (focused && !list.contains(focused)) {
      // The game the focus was in changed: keep the focus on it.
      const li = items.find((x) => x.dataset.game === focused.closest('li')?.dataset.game);
      if (li) li.focus();
    }
  }
  $('games-empty').hidden = items.length > 0;
}

function renderScores() {
  const rows = scores.map((s) => {
    const tr = el('tr');
    tr.dataset.opponent = s.peer;
    const who = el('th');
    who.scope = 'row';
    who.append(peerLabel(s.peer, self));
    tr.append(who, el('td', 'won', String(s.wins)), el('td', 'lost', String(s.losses)), el('td', 'drawn', String(s.draws)));
    return tr;
  });
  if (!rows.length) {
    const tr = el('tr', 'empty');
    const td = el('td', '', 'no games scored yet');
    td.colSpan = 4;
    tr.append(td);
    rows.push(tr);
  }
  $('scores').replaceChildren(...rows);
}

// busy counts the moves on their way; the list is aria-busy meanwhile.
let busy = 0;

async function play(id, move) {
  const list = $('games');
  busy++;
  list.setAttribute('aria-busy', 'true');
  for (const b of list.querySelectorAll('li[data-game="' + id + '"] button.move')) b.disabled = true;
  try {
    upsert(await postJSON('/api/game/move', { game: id, move }));
    setText('game-error', '');
  } catch (err) {
    setText('game-error', String(err.message || err));
    for (const b of list.querySelectorAll('li[data-game="' + id + '"] button.move')) b.disabled = false;
  } finally {
    if (--busy === 0) list.removeAttribute('aria-busy');
  }
}

async function challenge(ev) {
  ev.preventDefault();
  const peer = $('opponent').value;
  if (!peer) {
    setText('game-error', 'No player to challenge yet: a peer that runs the game shows here once it is verified.');
    return;
  }
  const btn = $('challenge-send');
  btn.disabled = true;
  try {
    const { game } = await postJSON('/api/game/challenge', { peer });
    // The stream's "challenge" event brings the same; this shows it even
    // while the stream reconnects.
    if (!games.has(game)) {
      upsert({ id: game, peer, challenger: true, started: new Date().toISOString(), played: false, opponent_played: false });
    }
    setText('game-error', '');
    const first = document.querySelector('#games li[data-game="' + game + '"] button.move');
    if (first) first.focus();
  } catch (err) {
    setText('game-error', String(err.message || err));
  } finally {
    btn.disabled = false;
  }
}

// renderOpponents fills the select with the peers that can play: verified,
// authenticated, and members of the game. It keeps the choice.
function renderOpponents(peers) {
  const ids = peers.filter((p) => p.verified && p.authenticated && (p.communities || []).includes('game')).map((p) => p.id);
  if (ids.join() === opponents) return;
  opponents = ids.join();
  const sel = $('opponent');
  const was = sel.value;
  sel.replaceChildren(...ids.map((id) => {
    const o = el('option', '', shortID(id));
    o.value = id;
    o.title = id;
    return o;
  }));
  if (!ids.length) sel.append(el('option', '', 'no player yet'));
  if (ids.includes(was)) sel.value = was;
  sel.disabled = !ids.length;
  $('challenge-send').disabled = !ids.length;
}

// update is called with every /status: it shows the panel if the node
// runs the game, lists the players, and keeps the stream open.
export function update(st) {
  if (self !== st.peer_id) {
    self = st.peer_id;
    renderScores();
  }
  const runs = (st.communities || []).some((c) => c.name === 'game');
  $('game').hidden = !runs;
  if (!runs) return;
  renderOpponents(st.peers || []);
  stream.ensure();
}

$('challenge-form').addEventListener('submit', challenge);
