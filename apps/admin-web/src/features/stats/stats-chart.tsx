import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'react';

export interface ChartLine {
  label: string;
  values: Array<number | null>;
  colour: string;
}

/**
 * A uPlot time chart. uPlot draws on a canvas, so the figure's data is also given as a table
 * (next to it, in the screen) for screen readers and for reading exact numbers.
 */
export function StatsChart({ times, lines, label }: { times: number[]; lines: ChartLine[]; label: string }) {
  const target = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = target.current;
    if (!element) return;
    const chart = new uPlot(
      {
        width: Math.max(320, element.clientWidth),
        height: 220,
        scales: { x: { time: true } },
        series: [{}, ...lines.map((line) => ({ label: line.label, stroke: line.colour, width: 2, spanGaps: false }))],
        axes: [{}, { size: 60 }],
        legend: { show: true },
      },
      [times.map((time) => time / 1000), ...lines.map((line) => line.values)],
      element,
    );
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(320, element.clientWidth), height: 220 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [times, lines]);
  return <div ref={target} className="chart" role="img" aria-label={label} />;
}
