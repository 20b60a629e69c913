// The call console: lists recent calls and shows one call, from the JSON API (`GET /calls`,
// `GET /calls/{sid}`) with the session cookie. Everything is built with DOM calls and
// `textContent`, never HTML strings, so nothing a caller said can become markup.
//
// Live calls update by polling every POLL_MS: it works the same behind API Gateway and Lambda
// (which buffer responses, so Server-Sent Events cannot stream there) as under `serve`.
'use strict';

(function () {
  const POLL_MS = 2000;
  const IDLE_POLL_MS = 10000;
  const main = document.getElementById('main');
  const refresh = document.getElementById('refresh');
  let timer = null;

  // el('p', {class: 'x'}, 'text', child, …): an element with attributes and children.
  function el(tag, attrs, ...children) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== undefined && v !== null) n.setAttribute(k, String(v));
    }
    for (const c of children) {
      if (c === undefined || c === null) continue;
      n.append(typeof c === 'string' || typeof c === 'number' ? String(c) : c);
    }
    return n;
  }

  async function getJson(url) {
    const res = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (res.status === 401) {
      location.assign('/console/login');
      throw new Error('signed out');
    }
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    return res.json();
  }

  const when = iso => (iso ? new Date(iso).toLocaleString() : '');
  const usd = n => (typeof n === 'number' ? `$${n.toFixed(4)}` : '');
  const secs = (from, to) => ((new Date(to) - new Date(from)) / 1000).toFixed(1);
  const json = v => JSON.stringify(v, null, 2);

  function facts(pairs) {
    const dl = el('dl', { class: 'facts' });
    for (const [k, v] of pairs) {
      if (v === undefined || v === null || v === '') continue;
      dl.append(el('dt', {}, k), el('dd', {}, v));
    }
    return dl;
  }

  function statusBadge(call) {
    if (call.live || !call.ended_at) return el('span', { class: 'badge live' }, 'live');
    return el('span', { class: 'badge' }, call.status);
  }

  function schedule(fn, ms) {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
    refresh.textContent = `updated ${new Date().toLocaleTimeString()}`;
  }

  // ---- the list ----

  async function showList() {
    let data;
    try {
      data = await getJson('/calls?limit=50');
    } catch (e) {
      return failed(e, showList);
    }
    const live = data.calls.filter(c => c.live);
    const done = data.calls.filter(c => !c.live);
    main.replaceChildren(
      el('h1', {}, 'Calls'),
      el('section', { id: 'live' }, el('h2', {}, `Live now (${live.length})`),
        live.length ? callList(live) : el('p', { class: 'muted' }, 'No call in progress.')),
      el('section', { id: 'recent' }, el('h2', {}, 'Recent'),
        done.length ? callList(done) : el('p', { class: 'muted' }, 'No calls yet.')));
    schedule(showList, live.length ? POLL_MS : IDLE_POLL_MS);
  }

  function callList(calls) {
    const ul = el('ul', { class: 'calls' });
    for (const c of calls) {
      ul.append(el('li', { 'data-sid': c.call_sid },
        el('a', { href: `/console/calls/${c.call_sid}` },
          el('span', { class: 'who' }, c.from || 'unknown caller'),
          statusBadge(c),
          el('span', { class: 'muted' }, when(c.started_at)),
          c.duration_secs != null ? el('span', {}, `${c.duration_secs} s`) : null,
          el('span', {}, usd(c.cost_usd)),
          c.direction ? el('span', { class: 'muted' }, c.direction) : null)));
    }
    return ul;
  }

  // ---- one call ----

  async function showCall(sid) {
    let call;
    try {
      call = await getJson(`/calls/${sid}`);
    } catch (e) {
      return failed(e, () => showCall(sid));
    }
    // Optional sections are null when the report has no such data.
    main.replaceChildren(...[
      el('p', {}, el('a', { href: '/console' }, '← all calls')),
      el('h1', {}, `${call.from || 'unknown caller'} → ${call.to || ''} `, statusBadge(call)),
      overview(call),
      timeline(call),
      latency(call),
      analysis(call.analysis),
      deliveries(call.webhook_deliveries)].filter(Boolean));
    if (!call.ended_at) schedule(() => showCall(sid), POLL_MS);
    else refresh.textContent = 'call ended';
  }

  function overview(call) {
    const u = call.usage || {};
    return el('section', { id: 'overview' }, facts([
      ['Call', call.call_sid],
      ['Status', call.status],
      ['Direction', call.direction],
      ['Outcome', typeof call.outcome === 'object' ? json(call.outcome) : call.outcome],
      ['Access', call.access],
      ['Started', when(call.started_at)],
      ['Ended', when(call.ended_at)],
      ['Duration', call.duration_secs != null ? `${call.duration_secs} s` : ''],
      ['Stream end', call.stream_end],
      ['Barge-ins', call.stats ? String(call.stats.interruptions) : ''],
      ['Cost', usd(call.cost_usd)],
      ['Tokens', `${(u.input_audio_tokens || 0) + (u.input_text_tokens || 0)} in, ` +
        `${(u.output_audio_tokens || 0) + (u.output_text_tokens || 0)} out`],
      ['Recording', call.recording_url],
    ]));
  }

  function timeline(call) {
    const items = [
      ...(call.transcript || []).map(t => ({ at: t.at, order: t.seq, turn: t })),
      ...(call.tool_calls || []).map(t => ({ at: t.at, order: 1e9, tool: t })),
    ].sort((a, b) => (new Date(a.at) - new Date(b.at)) || (a.order - b.order));
    const ol = el('ol', { class: 'timeline' });
    for (const item of items) ol.append(item.turn ? turnItem(call, item.turn) : toolItem(call, item.tool));
    return el('section', { id: 'timeline' }, el('h2', {}, 'Transcript'),
      items.length ? ol : el('p', { class: 'muted' }, 'Nothing said yet.'),
      call.truncated ? el('p', { class: 'muted' }, 'Long call: only the first part is shown.') : null);
  }

  function turnItem(call, t) {
    const li = el('li', { class: `turn ${t.role}${t.interrupted ? ' interrupted' : ''}` },
      el('div', { class: 'meta' }, el('strong', {}, t.role), el('span', {}, `+${secs(call.started_at, t.at)} s`),
        t.interrupted ? el('span', { class: 'badge bad' }, 'cut off by the caller (barge-in)') : null),
      el('div', { class: 'text' }, t.text));
    return li;
  }

  function toolItem(call, t) {
    return el('li', { class: `tool${t.is_error ? ' failed' : ''}` },
      el('div', { class: 'meta' }, el('strong', {}, `tool ${t.name}`), el('span', {}, `+${secs(call.started_at, t.at)} s`),
        el('span', {}, `took ${t.latency_ms} ms`), el('span', { class: t.is_error ? 'badge bad' : 'badge ok' }, t.is_error ? 'failed' : 'ok')),
      el('pre', { class: 'args' }, json(t.arguments)),
      el('details', {}, el('summary', {}, 'result'), el('pre', { class: 'result' }, json(t.result))));
  }

  function latency(call) {
    const section = el('section', { id: 'latency', class: 'chart' }, el('h2', {}, 'Latency per turn'));
    let turns = [];
    let marks = {};
    if (call.latency && Array.isArray(call.latency.turns)) {
      turns = call.latency.turns;
      marks = call.latency;
    } else if (call.stats && Array.isArray(call.stats.reply_latencies_ms)) {
      // Before per-turn splits were kept: the bridge's end-of-speech → first-audio list.
      turns = call.stats.reply_latencies_ms.map((ms, i) => ({ index: i, total_ms: ms }));
    }
    if (!turns.length) {
      section.append(el('p', { class: 'muted' }, 'No turns measured yet.'));
      return section;
    }
    const split = turns.some(t => typeof t.model_ms === 'number');
    section.append(window.LatencyChart.draw(turns, marks),
      split ? el('div', { class: 'legend' }, el('span', { class: 'model' }, 'model'),
        el('span', { class: 'tool' }, 'tool'), el('span', { class: 'transport' }, 'transport'))
        : el('p', { class: 'muted' }, 'End of the caller\'s speech to the first reply audio, per turn.'),
      facts([['p50', marks.p50_ms != null ? `${marks.p50_ms} ms` : ''],
        ['p95', marks.p95_ms != null ? `${marks.p95_ms} ms` : ''],
        ['p99', marks.p99_ms != null ? `${marks.p99_ms} ms` : '']]));
    return section;
  }

  function analysis(a) {
    if (!a) return null;
    const verdict = a.success === true ? el('span', { class: 'badge ok' }, 'goal met')
      : a.success === false ? el('span', { class: 'badge bad' }, 'goal not met') : null;
    return el('section', { id: 'analysis' }, el('h2', {}, 'Analysis ', verdict),
      el('p', {}, a.summary || ''),
      a.reason ? el('p', { class: 'muted' }, a.reason) : null,
      facts(Object.entries(a.fields || {}).map(([k, v]) => [k, typeof v === 'string' ? v : json(v)])),
      el('p', { class: 'muted' }, `${a.model || ''} ${when(a.analyzed_at)}`));
  }

  function deliveries(list) {
    if (!Array.isArray(list) || !list.length) return null;
    const table = el('table', {}, el('thead', {}, el('tr', {},
      ...['Event', 'URL', 'Attempts', 'Status', 'Last error', 'Last attempt'].map(h => el('th', {}, h)))));
    const body = el('tbody');
    for (const d of list) {
      body.append(el('tr', {}, el('td', {}, d.event), el('td', {}, d.url), el('td', {}, d.attempts),
        el('td', {}, d.status), el('td', {}, d.last_error || ''), el('td', {}, when(d.last_attempt_at))));
    }
    table.append(body);
    return el('section', { id: 'webhooks' }, el('h2', {}, 'Webhook deliveries'),
      el('div', { class: 'table-wrap' }, table));
  }

  function failed(error, retry) {
    if (String(error.message) === 'signed out') return;
    main.replaceChildren(el('p', { class: 'error' }, `Could not load: ${error.message}`));
    schedule(retry, IDLE_POLL_MS);
  }

  const match = /^\/console\/calls\/(CA[0-9a-fA-F]{32})$/.exec(location.pathname);
  if (match) showCall(match[1]);
  else showList();
})();
