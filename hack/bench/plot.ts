// Pure: an SVG line chart of step curves (claims Bound over time, one curve per contender).

export interface Curve {
  name: string;
  /** [x, y] points in increasing x. */
  points: Array<[number, number]>;
}

const colors = ['#555555', '#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e'];

const xmlText = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A round step (1, 2 or 5 times a power of ten) giving about `count` ticks up to max. */
export function tickStep(max: number, count = 6): number {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  return step ?? 10 * power;
}

export function lineChart(opts: { title: string; xLabel: string; yLabel: string; curves: Curve[] }): string {
  const width = 800;
  const legendH = 18 * opts.curves.length + 10;
  const height = 480 + legendH;
  const left = 70;
  const right = 20;
  const top = 40;
  const bottom = 60 + legendH;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const all = opts.curves.flatMap((c) => c.points);
  const xMax = Math.max(1, ...all.map(([x]) => x));
  const yMax = Math.max(1, ...all.map(([, y]) => y));
  const xStep = tickStep(xMax);
  const yStep = tickStep(yMax);
  const xEnd = Math.ceil(xMax / xStep) * xStep;
  const yEnd = Math.ceil(yMax / yStep) * yStep;
  const px = (x: number) => (left + (x / xEnd) * plotW).toFixed(1);
  const py = (y: number) => (top + plotH - (y / yEnd) * plotH).toFixed(1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${xmlText(opts.title)}</text>`,
  ];
  for (let x = 0; x <= xEnd + 1e-9; x += xStep) {
    out.push(
      `<line x1="${px(x)}" y1="${top}" x2="${px(x)}" y2="${top + plotH}" stroke="#e5e5e5"/>`,
      `<text x="${px(x)}" y="${top + plotH + 18}" text-anchor="middle">${+x.toFixed(6)}</text>`,
    );
  }
  for (let y = 0; y <= yEnd + 1e-9; y += yStep) {
    out.push(
      `<line x1="${left}" y1="${py(y)}" x2="${left + plotW}" y2="${py(y)}" stroke="#e5e5e5"/>`,
      `<text x="${left - 8}" y="${py(y)}" text-anchor="end" dominant-baseline="middle">${+y.toFixed(6)}</text>`,
    );
  }
  out.push(
    `<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`,
    `<text x="${left + plotW / 2}" y="${top + plotH + 40}" text-anchor="middle">${xmlText(opts.xLabel)}</text>`,
    `<text transform="translate(18 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${xmlText(opts.yLabel)}</text>`,
  );
  opts.curves.forEach((curve, i) => {
    const color = colors[i % colors.length];
    let d = '';
    let lastY = 0;
    curve.points.forEach(([x, y], j) => {
      d += j === 0 ? `M${px(x)},${py(y)}` : `H${px(x)}V${py(y)}`;
      lastY = y;
    });
    if (d) out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    // The legend goes under the axis label, where no curve can hide it.
    const ly = top + plotH + 64 + i * 18;
    out.push(
      `<line x1="${left}" y1="${ly}" x2="${left + 25}" y2="${ly}" stroke="${color}" stroke-width="3"/>`,
      `<text x="${left + 32}" y="${ly}" dominant-baseline="middle">${xmlText(`${curve.name} (last: ${lastY})`)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
