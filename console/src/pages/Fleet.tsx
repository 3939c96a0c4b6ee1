import { Paper, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import type { DeviceBody, FirmwareBody } from '../../../src/contract/schemas.js';
import { ColumnChart, StackedBar, type Segment } from '../charts';
import { paletteVar, presenceColors } from '../status';

export const NOT_REPORTED = 'not reported';

export interface FleetFigures {
  readonly total: number;
  readonly online: number;
  /** Devices per version: the prototype's versions in its order, then others, then "not reported". */
  readonly versions: readonly { readonly version: string; readonly count: number }[];
}

/** How many devices are online and how many run each version, from the API's device list. */
export function fleetFigures(devices: readonly DeviceBody[], firmwares: readonly FirmwareBody[] = []): FleetFigures {
  const counts = new Map<string, number>();
  let online = 0;
  let unreported = 0;
  for (const device of devices) {
    if (device.presence.online) online++;
    if (device.firmware === null) unreported++;
    else counts.set(device.firmware.version, (counts.get(device.firmware.version) ?? 0) + 1);
  }
  const known = firmwares.map((firmware) => firmware.version).filter((version) => counts.has(version));
  const others = [...counts.keys()].filter((version) => !known.includes(version)).sort();
  const versions = [...known, ...others].map((version) => ({ version, count: counts.get(version)! }));
  if (unreported > 0) versions.push({ version: NOT_REPORTED, count: unreported });
  return { total: devices.length, online, versions };
}

/** The fleet of a prototype at a glance: online against offline, and devices per version, live. */
export function Fleet({ devices, firmwares }: { devices: readonly DeviceBody[]; firmwares?: readonly FirmwareBody[] }) {
  const figures = fleetFigures(devices, firmwares);
  const presence: Segment[] = [
    { key: 'online', label: 'online', value: figures.online, color: presenceColors.online },
    { key: 'offline', label: 'offline', value: figures.total - figures.online, color: presenceColors.offline },
  ];
  const bars: Segment[] = figures.versions.map(({ version, count }) => ({
    key: version,
    label: version,
    value: count,
    color: version === NOT_REPORTED ? paletteVar('gray') : paletteVar('blue'),
  }));
  return (
    <Paper withBorder p="md" component="section" aria-label="Fleet">
      <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="lg">
        <Stack gap="xs">
          <Title order={4}>Online</Title>
          <Text fw={600} data-testid="fleet-online">
            {figures.online} of {figures.total} online
          </Text>
          <StackedBar title="Devices online and offline" segments={presence} />
        </Stack>
        <Stack gap="xs">
          <Title order={4}>Firmware versions</Title>
          <ColumnChart title="Devices per firmware version" bars={bars} />
        </Stack>
      </SimpleGrid>
    </Paper>
  );
}
