// DOM helpers. Every text from the daemon goes in as a text node (never as HTML): a real server's
// name or a script's output that holds markup is shown as the characters it is.

/** h('td', { class: 'st' }, 'MASTER'): an element; attributes `on<event>` are listeners. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export const $ = (id) => document.getElementById(id);

/** '2026-11-25T21:00:03.521Z' → '21:00:03.521' (local time) */
export function clock(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** a state as a coloured word */
export const stateWord = (s) => h('span', { class: `st st-${String(s).replace(/[^A-Za-z0-9-]/g, '')}` }, s ?? '');

/** One line for an event, in an operator's words (actors/format-event.ts, the same cases). */
export function summary(e) {
  const d = e.data ?? {};
  const s = (x) => (x === undefined || x === null ? '' : String(x));
  switch (e.type) {
    case 'vrrp.state':
      return `${s(d.from)} → ${s(d.to)} (${s(d.cause)}${d.detail ? ` ${s(d.detail)}` : ''}, priority ${s(d.priority)}${d.master ? `, master ${s(d.master)}` : ''})`;
    case 'vrrp.priority':
      return `priority ${s(d.from)} → ${s(d.to)}${d.cause ? ` (${s(d.cause)})` : ''}`;
    case 'sync.state':
      return `group ${s(d.from)} → ${s(d.to)} (by ${s(d.cause)})`;
    case 'track.state':
      return `${s(d.state)}${d.cause ? ` (${s(d.cause)})` : ''}${d.count !== undefined ? ` (${s(d.count)} running)` : ''}`;
    case 'checker.state':
      return `${s(d.from)} → ${s(d.to)} (${s(d.cause)})`;
    case 'vs.rs':
      return `${s(d.rs)} ${s(d.state)} (${s(d.cause)}), weight ${s(d.weight)}`;
    case 'vs.quorum':
      return `quorum ${s(d.state)}: weight ${s(d.weight)} vs ${s(d.threshold)}`;
    case 'nats.state':
      return `NATS ${s(d.from)} → ${s(d.to)} (${s(d.cause)}, ${s(d.pending)} pending)`;
    case 'daemon.started':
      return `started (vigil ${s(d.version)}, ${s(d.instances)} instance(s))`;
    case 'daemon.stopping':
      return 'stopping';
    default: {
      const j = JSON.stringify(d);
      return j.length > 160 ? `${j.slice(0, 160)}…` : j;
    }
  }
}
