import { Box, Group, Text } from '@mantine/core';
import { useId } from 'react';

/**
 * Two small charts in plain SVG (no chart library: the console's first load stays small). Each
 * names its figures twice: in words for screen readers (`role="img"` and its label) and on screen
 * (counts on the bars, a legend with the figures).
 */

export interface Segment {
  readonly key: string;
  readonly label: string;
  readonly value: number;
  /** A CSS colour (a Mantine CSS variable). */
  readonly color: string;
}

/** "online 3, offline 2": the figures of a chart in words. */
export const figuresText = (segments: readonly Segment[]): string =>
  segments.map((segment) => `${segment.label} ${segment.value}`).join(', ');

/** One bar of 100 %, a section per segment in proportion to its value, and a legend with the figures. */
export function StackedBar({
  title,
  segments,
  height = 20,
}: {
  title: string;
  segments: readonly Segment[];
  height?: number;
}) {
  const total = segments.reduce((sum, segment) => sum + segment.value, 0);
  let offset = 0;
  return (
    <Box>
      <svg
        role="img"
        aria-label={`${title}: ${figuresText(segments)}, of ${total}`}
        width="100%"
        height={height}
        viewBox={`0 0 100 ${height}`}
        preserveAspectRatio="none"
        style={{ display: 'block', borderRadius: 4, background: 'var(--mantine-color-gray-1)' }}
      >
        {total > 0 &&
          segments.map((segment) => {
            const width = (100 * segment.value) / total;
            const x = offset;
            offset += width;
            return segment.value > 0 ? (
              <rect
                key={segment.key}
                data-segment={segment.key}
                x={x}
                y={0}
                width={width}
                height={height}
                fill={segment.color}
              />
            ) : null;
          })}
      </svg>
      <Group component="ul" gap="md" mt="xs" mb={0} p={0} style={{ listStyle: 'none' }} aria-label={`${title}, legend`}>
        {segments.map((segment) => (
          <Group component="li" key={segment.key} gap={6} wrap="nowrap" data-count={segment.key}>
            <Swatch color={segment.color} />
            <Text size="sm">{segment.label}</Text>
            <Text size="sm" fw={600}>
              {segment.value}
            </Text>
          </Group>
        ))}
      </Group>
    </Box>
  );
}

function Swatch({ color }: { color: string }) {
  return (
    <Box
      component="span"
      aria-hidden
      style={{ display: 'inline-block', width: 10, height: 10, borderRadius: 2, background: color, flex: 'none' }}
    />
  );
}

const BAR_SLOT = 88;
const BAR_WIDTH = 44;
const PLOT_HEIGHT = 140;
const TOP = 22;
const LABEL_HEIGHT = 24;

/**
 * Vertical bars, one per category, with its count above it and its name below it; wider than its
 * box it scrolls sideways (a fleet with many versions at phone width).
 */
export function ColumnChart({ title, bars }: { title: string; bars: readonly Segment[] }) {
  const titleId = useId();
  const highest = Math.max(1, ...bars.map((bar) => bar.value));
  const width = Math.max(bars.length, 1) * BAR_SLOT;
  const height = TOP + PLOT_HEIGHT + LABEL_HEIGHT;
  return (
    <Box style={{ overflowX: 'auto' }}>
      <svg role="img" aria-labelledby={titleId} width={width} height={height} viewBox={`0 0 ${width} ${height}`}>
        <title id={titleId}>{`${title}: ${figuresText(bars)}`}</title>
        <line
          x1={0}
          x2={width}
          y1={TOP + PLOT_HEIGHT}
          y2={TOP + PLOT_HEIGHT}
          stroke="var(--mantine-color-gray-4)"
          strokeWidth={1}
        />
        {bars.map((bar, index) => {
          const barHeight = bar.value === 0 ? 0 : Math.max(2, (PLOT_HEIGHT * bar.value) / highest);
          const x = index * BAR_SLOT + (BAR_SLOT - BAR_WIDTH) / 2;
          const y = TOP + PLOT_HEIGHT - barHeight;
          const middle = index * BAR_SLOT + BAR_SLOT / 2;
          const label = bar.label.length > 13 ? `${bar.label.slice(0, 12)}…` : bar.label;
          return (
            <g key={bar.key} data-bar={bar.key} data-value={bar.value}>
              <rect x={x} y={y} width={BAR_WIDTH} height={barHeight} rx={3} fill={bar.color} />
              <text
                x={middle}
                y={y - 6}
                textAnchor="middle"
                fontSize={13}
                fontWeight={600}
                fill="var(--mantine-color-text)"
              >
                {bar.value}
              </text>
              <text
                x={middle}
                y={TOP + PLOT_HEIGHT + 16}
                textAnchor="middle"
                fontSize={12}
                fill="var(--mantine-color-dimmed)"
              >
                <title>{bar.label}</title>
                {label}
              </text>
            </g>
          );
        })}
      </svg>
    </Box>
  );
}
