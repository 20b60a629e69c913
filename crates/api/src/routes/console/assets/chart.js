// Per-turn latency as an inline SVG bar chart, drawn with DOM calls (no library, no inline
// style: the page's Content-Security-Policy allows neither). Each bar is one turn, from the end
// of the caller's speech to the first assistant audio; when the split is known the bar is
// stacked model / tool / transport. Dashed lines mark p50 and p95 when given.
'use strict';

window.LatencyChart = (function () {
  const NS = 'http://www.w3.org/2000/svg';
  const W = 600, H = 220, LEFT = 44, BOTTOM = 24, TOP = 10, RIGHT = 8;

  function node(tag, attrs, text) {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
    if (text !== undefined) n.textContent = text;
    return n;
  }

  // A round axis maximum at or above `ms`.
  function niceMax(ms) {
    const steps = [100, 200, 500, 1000, 2000, 3000, 5000, 10000, 20000, 60000];
    return steps.find(s => s >= ms) || Math.ceil(ms / 60000) * 60000;
  }

  // turns: [{index, total_ms, model_ms?, tool_ms?, transport_ms?}]; marks: {p50_ms?, p95_ms?}.
  function draw(turns, marks) {
    const max = niceMax(Math.max(1, ...turns.map(t => t.total_ms || 0),
      marks.p95_ms || 0, marks.p50_ms || 0));
    const plotW = W - LEFT - RIGHT, plotH = H - TOP - BOTTOM;
    const y = ms => TOP + plotH - (ms / max) * plotH;
    const svg = node('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img',
      'aria-label': `Latency of ${turns.length} turns` });
    for (const tick of [0, max / 2, max]) {
      svg.append(node('line', { class: 'axis', x1: LEFT, x2: W - RIGHT, y1: y(tick), y2: y(tick) }));
      svg.append(node('text', { x: LEFT - 4, y: y(tick) + 4, 'text-anchor': 'end' }, `${tick} ms`));
    }
    const slot = plotW / Math.max(turns.length, 1);
    const barW = Math.max(2, Math.min(40, slot * 0.7));
    turns.forEach((t, i) => {
      const x = LEFT + i * slot + (slot - barW) / 2;
      const g = node('g', { class: 'bar' });
      g.append(node('title', {}, barTitle(t)));
      const parts = [['model', t.model_ms], ['tool', t.tool_ms], ['transport', t.transport_ms]]
        .filter(([, ms]) => typeof ms === 'number' && ms > 0);
      if (parts.length === 0) parts.push(['total', t.total_ms || 0]);
      let base = 0;
      for (const [cls, ms] of parts) {
        g.append(node('rect', { class: cls, x, width: barW, y: y(base + ms), height: y(base) - y(base + ms) }));
        base += ms;
      }
      svg.append(g);
      if (turns.length <= 30 || i % Math.ceil(turns.length / 30) === 0) {
        svg.append(node('text', { x: x + barW / 2, y: H - 8, 'text-anchor': 'middle' }, String(t.index)));
      }
    });
    for (const [cls, ms] of [['p50', marks.p50_ms], ['p95', marks.p95_ms]]) {
      if (typeof ms !== 'number') continue;
      svg.append(node('line', { class: cls, x1: LEFT, x2: W - RIGHT, y1: y(ms), y2: y(ms) }));
      svg.append(node('text', { x: W - RIGHT, y: y(ms) - 3, 'text-anchor': 'end' }, `${cls} ${ms} ms`));
    }
    return svg;
  }

  function barTitle(t) {
    const bits = [`turn ${t.index}: ${t.total_ms} ms`];
    for (const k of ['model_ms', 'tool_ms', 'transport_ms']) {
      if (typeof t[k] === 'number') bits.push(`${k.replace('_ms', '')} ${t[k]} ms`);
    }
    return bits.join(', ');
  }

  return { draw };
})();
