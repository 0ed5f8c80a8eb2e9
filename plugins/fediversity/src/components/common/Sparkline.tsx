/**
 * A dependency-free SVG line of values over time (e.g. replication lag). Points are [time, value]; the line
 * is scaled to the box, with the newest value labelled.
 */
export function Sparkline(props: {
  points: Array<[number, number]>;
  label: string;
  width?: number;
  height?: number;
  format?: (value: number) => string;
}) {
  const width = props.width ?? 160;
  const height = props.height ?? 32;
  const points = [...props.points].sort((a, b) => a[0] - b[0]);
  if (points.length === 0) return null;
  const [minX, maxX] = [points[0][0], points[points.length - 1][0]];
  const maxY = Math.max(...points.map(p => p[1]), 1);
  const x = (t: number) => (maxX === minX ? width : ((t - minX) / (maxX - minX)) * (width - 4) + 2);
  const y = (v: number) => height - 2 - (v / maxY) * (height - 4);
  const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
  const last = points[points.length - 1];
  return (
    <svg
      role="img"
      aria-label={`${props.label}: ${points.length} points, latest ${props.format ? props.format(last[1]) : last[1]}`}
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
    >
      <path d={path} fill="none" stroke="currentColor" strokeWidth={1.5} />
      <circle cx={x(last[0])} cy={y(last[1])} r={2.5} fill="currentColor" />
    </svg>
  );
}
