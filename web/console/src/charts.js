// charts.js: the console's charts on Chart.js (docs/CONSOLE.md §1.5), with
// only the components the bar and line charts use registered (a smaller
// bundle).  Every chart comes with a text table of the same numbers next to
// it (figure()), for screen readers and for reading exact values.
import {
  Chart, BarController, BarElement, LineController, LineElement, PointElement,
  CategoryScale, LinearScale, Legend, Tooltip,
} from 'chart.js';
import { el, table } from './ui.js';

Chart.register(BarController, BarElement, LineController, LineElement, PointElement,
  CategoryScale, LinearScale, Legend, Tooltip);

// colours of the series, in order: distinguishable, dark enough on white
const PALETTE = ['#1f5fa8', '#b4481d', '#2e7d32', '#6a3d9a', '#8a6d00', '#00796b'];

// the Chart.js configuration of kind ('bar' or 'line') for
// {labels, series: [{label, data}]}; format(value) writes an axis value
function config(kind, { labels, series, format }) {
  return {
    type: kind,
    data: {
      labels,
      datasets: series.map((s, i) => ({
        label: s.label,
        data: s.data,
        backgroundColor: PALETTE[i % PALETTE.length],
        borderColor: PALETTE[i % PALETTE.length],
        borderWidth: kind === 'line' ? 2 : 0,
        tension: 0,
      })),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: {
        legend: { display: series.length > 1, position: 'bottom' },
        tooltip: format ? { callbacks: { label: (c) => `${c.dataset.label}: ${format(c.parsed.y)}` } } : {},
      },
      scales: {
        y: { beginAtZero: true, ticks: format ? { callback: (v) => format(v) } : {} },
      },
    },
  };
}

// bar(canvas, {labels, series: [{label, data}], format}) → the Chart
export function bar(canvas, data) {
  return new Chart(canvas, config('bar', data));
}

// line(canvas, {labels, series: [{label, data}], format}) → the Chart
export function line(canvas, data) {
  return new Chart(canvas, config('line', data));
}

// figure({kind, caption, labels, series, format}) → {node, draw}: a
// <figure> with the chart (its canvas hidden from screen readers) and a
// table of the same numbers (format(value) writes a cell, e.g. money).
// draw() makes the Chart: call it once node is in the document (the chart
// takes its size from there).
export function figure({ kind = 'bar', caption, labels, series, format }) {
  const canvas = el('canvas', { 'aria-hidden': 'true' });
  const fmt = format || ((v) => String(v));
  const columns = [{ label: '', value: (r) => r.label }].concat(series.map((s, i) => ({
    label: s.label, class: 'num', value: (r) => fmt(r.values[i]),
  })));
  const rows = labels.map((label, j) => ({ label, values: series.map((s) => s.data[j]) }));
  const node = el('figure', { class: 'chart' },
    el('figcaption', null, caption),
    el('div', { class: 'chart-box' }, canvas),
    table({ caption: `${caption} (table)`, columns, rows }));
  const make = kind === 'line' ? line : bar;
  return { node, draw: () => make(canvas, { labels, series, format }) };
}
