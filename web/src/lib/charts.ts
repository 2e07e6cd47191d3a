/**
 * Chart.js, with only the parts the usage charts use registered (bar charts on a category and
 * a linear axis, tooltips and legends), so the rest is left out of the bundle.
 * Also the colours a series gets: the app's teal first, then hues that stay apart.
 */
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

// Text in charts looks like the page's (including its CJK fallbacks).
Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
Chart.defaults.color = '#5c6877';
Chart.defaults.borderColor = '#e2e5ea';

const PALETTE = ['#0f766e', '#2563eb', '#d97706', '#7c3aed', '#db2777', '#65a30d', '#0891b2', '#dc2626', '#4b5563', '#a16207'];

/** The colour of the `index`-th series; repeats after ten. */
export function seriesColor(index: number): string {
  return PALETTE[index % PALETTE.length] ?? '#0f766e';
}

export { Chart };
