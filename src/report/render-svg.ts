/**
 * Signing coverage over time as a plain SVG: one panel per ref, one bar per day or week,
 * stacked by share of commits — signed by a registry key (G), signed otherwise, unsigned — on a
 * 0–100 % axis, with the number of commits above each bar. Hand-written so it renders the same
 * everywhere (browsers, GitHub, image viewers) without scripts or fonts beyond sans-serif.
 */
import type { ComplianceReport, CoverageBucket, RefReport } from '../core/report/types.ts';
import { coverageRatio } from '../core/report/summarize.ts';

const WIDTH = 800;
const PANEL_HEIGHT = 280;
const MARGIN = { left: 56, right: 20, top: 64, bottom: 56 };
const COLOURS = { good: '#2e7d32', other: '#f0a30a', unsigned: '#b0b0b0', grid: '#dddddd', axis: '#333333', text: '#222222' };

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const percent = (ratio: number): string => `${(ratio * 100).toFixed(ratio === 1 || ratio === 0 ? 0 : 1)} %`;

function bucketLabel(bucket: CoverageBucket, size: ComplianceReport['bucket']): string {
  if (size === 'month') return bucket.start.slice(0, 7);
  const date = bucket.start.slice(5, 10);
  return size === 'week' ? `wk ${date}` : date;
}

function panel(ref: RefReport, report: ComplianceReport, top: number): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const x0 = MARGIN.left;
  const y0 = top + MARGIN.top;
  const parts: string[] = [];
  const title = `${ref.ref}: ${percent(coverageRatio(ref))} signed by registry keys (${ref.good} of ${ref.commits} commits)`;
  parts.push(`<text x="${x0}" y="${top + 24}" font-size="15" font-weight="bold" fill="${COLOURS.text}">${escapeXml(title)}</text>`);
  parts.push(
    `<text x="${x0}" y="${top + 42}" font-size="12" fill="${COLOURS.text}">${escapeXml(`${report.since.slice(0, 10)} to ${report.until.slice(0, 10)}, per ${report.bucket}`)}</text>`,
  );
  parts.push(legend(top));

  // Y axis: share of the bucket's commits.
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    const y = y0 + plotHeight - tick * plotHeight;
    parts.push(`<line x1="${x0}" y1="${y}" x2="${x0 + plotWidth}" y2="${y}" stroke="${COLOURS.grid}" stroke-width="1"/>`);
    parts.push(`<text x="${x0 - 6}" y="${y + 4}" font-size="11" text-anchor="end" fill="${COLOURS.text}">${tick * 100} %</text>`);
  }
  parts.push(
    `<text transform="translate(${14} ${y0 + plotHeight / 2}) rotate(-90)" font-size="11" text-anchor="middle" fill="${COLOURS.text}">share of commits</text>`,
  );
  parts.push(`<line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y0 + plotHeight}" stroke="${COLOURS.axis}"/>`);
  parts.push(`<line x1="${x0}" y1="${y0 + plotHeight}" x2="${x0 + plotWidth}" y2="${y0 + plotHeight}" stroke="${COLOURS.axis}"/>`);

  const count = ref.coverage.length;
  const slot = plotWidth / Math.max(count, 1);
  const barWidth = Math.max(1, Math.min(48, slot * 0.7));
  // Label every k-th bucket so labels never overlap (about 56 px a label).
  const every = Math.max(1, Math.ceil(56 / slot));
  ref.coverage.forEach((bucket, index) => {
    const x = x0 + index * slot + (slot - barWidth) / 2;
    const other = bucket.signed - bucket.good;
    const unsigned = bucket.commits - bucket.signed;
    const tip = `${bucketLabel(bucket, report.bucket)}: ${bucket.commits} commits, ${bucket.good} G, ${other} signed otherwise, ${unsigned} unsigned`;
    parts.push(
      `<g class="bucket" data-start="${bucket.start}" data-commits="${bucket.commits}" data-good="${bucket.good}" data-signed="${bucket.signed}"><title>${escapeXml(tip)}</title>`,
    );
    if (bucket.commits === 0) {
      // An empty bucket is outlined where there is room; on a long period it stays blank.
      if (slot >= 8)
        parts.push(
          `<rect x="${x.toFixed(1)}" y="${y0}" width="${barWidth.toFixed(1)}" height="${plotHeight}" fill="none" stroke="${COLOURS.grid}" stroke-dasharray="3 3"/>`,
        );
    } else {
      let y = y0 + plotHeight;
      for (const [value, colour] of [
        [bucket.good, COLOURS.good],
        [other, COLOURS.other],
        [unsigned, COLOURS.unsigned],
      ] as const) {
        if (value === 0) continue;
        const height = (value / bucket.commits) * plotHeight;
        y -= height;
        parts.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${barWidth.toFixed(1)}" height="${height.toFixed(1)}" fill="${colour}"/>`);
      }
    }
    if (slot >= 14)
      parts.push(
        `<text x="${(x + barWidth / 2).toFixed(1)}" y="${y0 - 4}" font-size="10" text-anchor="middle" fill="${COLOURS.text}">${bucket.commits}</text>`,
      );
    parts.push('</g>');
    if (index % every === 0) {
      parts.push(
        `<text x="${(x + barWidth / 2).toFixed(1)}" y="${y0 + plotHeight + 16}" font-size="11" text-anchor="middle" fill="${COLOURS.text}">${escapeXml(bucketLabel(bucket, report.bucket))}</text>`,
      );
    }
  });
  parts.push(
    `<text x="${x0 + plotWidth / 2}" y="${y0 + plotHeight + 36}" font-size="11" text-anchor="middle" fill="${COLOURS.text}">${report.bucket === 'week' ? 'week starting (UTC)' : report.bucket === 'month' ? 'month (UTC)' : 'day (UTC)'}; numbers above bars: commits</text>`,
  );
  return parts.join('\n');
}

function legend(top: number): string {
  const items: Array<[string, string]> = [
    [COLOURS.good, 'G: registry key'],
    [COLOURS.other, 'signed, not G'],
    [COLOURS.unsigned, 'unsigned (N)'],
  ];
  let x = WIDTH - MARGIN.right - 330;
  return items
    .map(([colour, label]) => {
      const item = `<rect x="${x}" y="${top + 32}" width="12" height="12" fill="${colour}"/><text x="${x + 16}" y="${top + 42}" font-size="11" fill="${COLOURS.text}">${label}</text>`;
      x += 112;
      return item;
    })
    .join('\n');
}

export function renderCoverageSvg(report: ComplianceReport): string {
  const refs = report.refs.length > 0 ? report.refs : [];
  const height = Math.max(1, refs.length) * PANEL_HEIGHT;
  const body =
    refs.length > 0
      ? refs.map((ref, index) => panel(ref, report, index * PANEL_HEIGHT)).join('\n')
      : `<text x="${MARGIN.left}" y="40" font-size="14" fill="${COLOURS.text}">no protected refs in ${escapeXml(report.repository)}</text>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" role="img">`,
    `<title>${escapeXml(`Signing coverage of ${report.repository}, ${report.since.slice(0, 10)} to ${report.until.slice(0, 10)}`)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    body,
    '</svg>',
    '',
  ].join('\n');
}
