import * as React from 'react';

import { ILineageLayout, layoutLineage, Models } from '../modelsLogic';

const BOX_W = 190;
const BOX_H = 44;
const GAP_X = 60;
const GAP_Y = 14;

function x(column: number): number {
  return 10 + column * (BOX_W + GAP_X);
}

function y(row: number): number {
  return 10 + row * (BOX_H + GAP_Y);
}

/** Clip a label to what a box holds; the full text stays in the box's tooltip. */
function clip(text: string, max = 26): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * A version's lineage as an SVG picture: data -> run -> model, parent versions below with an arrow into the child.
 * Every label is a React text child (an SVG `<text>` node), so a hostile model name or data name is shown as text.
 */
export function LineagePicture(props: { lineage: Models.ILineage }): JSX.Element {
  const layout: ILineageLayout = React.useMemo(() => layoutLineage(props.lineage), [props.lineage]);
  const byId = new Map(layout.nodes.map(n => [n.id, n]));
  const width = x(layout.columns) - GAP_X + 10;
  const height = y(layout.rows) - GAP_Y + 10;
  return (
    <svg
      className="jp-Mlops-lineage"
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={`Lineage of ${props.lineage.model.name}:${props.lineage.model.version}`}
    >
      <defs>
        <marker id="jp-Mlops-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">
          <path d="M0,0 L10,5 L0,10 z" className="jp-Mlops-lineageArrowHead" />
        </marker>
      </defs>
      {layout.edges.map(edge => {
        const from = byId.get(edge.from);
        const to = byId.get(edge.to);
        if (!from || !to) {
          return null;
        }
        const x1 = x(from.column) + BOX_W;
        const y1 = y(from.row) + BOX_H / 2;
        // A parent model (same column as its child) enters the child from below.
        const sameColumn = from.column === to.column;
        const x2 = sameColumn ? x(to.column) + BOX_W / 2 : x(to.column);
        const y2 = sameColumn ? y(to.row) + BOX_H : y(to.row) + BOX_H / 2;
        const d = sameColumn
          ? `M${x(from.column) + BOX_W / 2},${y(from.row)} L${x2},${y2}`
          : `M${x1},${y1} C${x1 + GAP_X / 2},${y1} ${x2 - GAP_X / 2},${y2} ${x2},${y2}`;
        return (
          <path
            key={`${edge.from}->${edge.to}`}
            d={d}
            className={`jp-Mlops-lineageEdge${sameColumn ? ' jp-mod-parent' : ''}`}
            markerEnd="url(#jp-Mlops-arrow)"
          />
        );
      })}
      {layout.nodes.map(node => (
        <g
          key={node.id}
          className={`jp-Mlops-lineageNode jp-mod-${node.kind}`}
          data-kind={node.kind}
          transform={`translate(${x(node.column)},${y(node.row)})`}
        >
          <title>{`${node.kind}: ${node.label}${node.detail ? ` (${node.detail})` : ''}`}</title>
          <rect width={BOX_W} height={BOX_H} rx={5} />
          <text x={8} y={17} className="jp-Mlops-lineageLabel">
            {clip(node.label)}
          </text>
          <text x={8} y={34} className="jp-Mlops-lineageDetail">
            {clip(`${node.kind}${node.detail ? ` · ${node.detail}` : ''}`, 30)}
          </text>
        </g>
      ))}
    </svg>
  );
}
