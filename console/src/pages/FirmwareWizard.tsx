import {
  Box,
  Button,
  Checkbox,
  FileInput,
  Group,
  Modal,
  Progress,
  Radio,
  Stack,
  Stepper,
  Text,
  TextInput,
  Textarea,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type DragEvent, type FormEvent } from 'react';
import type { FirmwareBody } from '../../../src/contract/schemas.js';
import { client, xhrUpload } from '../api';
import { ErrorText, LiveDot, QueryState } from '../components';
import { navigate } from '../router';

/**
 * "+ Add firmware" as on MCS: (1) upload, (2) compatible firmware, All or Limit, (3) push to devices.
 * With `pushOnly`, only step 3 for that firmware (the Push button of a firmware row).
 */
export function FirmwareWizard({
  pid,
  pushOnly,
  onClose,
}: {
  pid: string;
  pushOnly?: FirmwareBody | undefined;
  onClose: () => void;
}) {
  const [step, setStep] = useState(pushOnly ? 2 : 0);
  const [uploaded, setUploaded] = useState<FirmwareBody | undefined>(pushOnly);
  return (
    <Modal
      opened
      onClose={onClose}
      title={pushOnly ? `Push ${pushOnly.name} ${pushOnly.version}` : 'Add firmware'}
      size="lg"
    >
      {!pushOnly && (
        <Stepper active={step} size="sm" mb="md" allowNextStepsSelect={false}>
          <Stepper.Step label="Firmware file" />
          <Stepper.Step label="Compatibility" />
          <Stepper.Step label="Devices" />
        </Stepper>
      )}
      {step === 0 && (
        <UploadStep
          pid={pid}
          onUploaded={(firmware) => {
            setUploaded(firmware);
            setStep(1);
          }}
        />
      )}
      {step === 1 && uploaded && <CompatibilityStep firmware={uploaded} onDone={onClose} onNext={() => setStep(2)} />}
      {step === 2 && uploaded && <PushStep firmware={uploaded} onClose={onClose} />}
    </Modal>
  );
}

function UploadStep({ pid, onUploaded }: { pid: string; onUploaded: (firmware: FirmwareBody) => void }) {
  const queries = useQueryClient();
  const [name, setName] = useState('');
  const [version, setVersion] = useState('');
  const [releaseNote, setReleaseNote] = useState('');
  const [checksum, setChecksum] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<number | undefined>();
  const upload = useMutation({
    mutationFn: (chosen: File) =>
      client.uploadFirmware(
        pid,
        { name, version, releaseNote, checksum: checksum.trim(), file: chosen, fileName: chosen.name },
        xhrUpload,
        (sent, total) => setProgress(total > 0 ? (100 * sent) / total : 0),
      ),
    onSuccess: (firmware) => {
      void queries.invalidateQueries({ queryKey: ['firmwares', pid] });
      onUploaded(firmware);
    },
    onSettled: () => setProgress(undefined),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (file) upload.mutate(file);
  };
  const drop = (event: DragEvent) => {
    event.preventDefault();
    const dropped = event.dataTransfer.files[0];
    if (dropped) setFile(dropped);
  };
  return (
    <form onSubmit={submit}>
      <Stack gap="sm">
        {upload.isError && <ErrorText error={upload.error} title="The firmware was not uploaded" />}
        <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} />
        <TextInput
          label="Version"
          required
          description="No comma, no spaces; unique in the prototype"
          value={version}
          onChange={(e) => setVersion(e.currentTarget.value)}
        />
        <Textarea label="Release note" value={releaseNote} onChange={(e) => setReleaseNote(e.currentTarget.value)} />
        <Box onDragOver={(event) => event.preventDefault()} onDrop={drop} data-testid="dropzone">
          <FileInput
            label="File"
            placeholder="Choose or drop the firmware file"
            required
            value={file}
            onChange={setFile}
            clearable
          />
        </Box>
        <TextInput
          label="Checksum (MD5, optional)"
          description="The upload is refused when the file differs"
          value={checksum}
          onChange={(e) => setChecksum(e.currentTarget.value)}
        />
        {progress !== undefined && <Progress value={progress} aria-label="Upload progress" animated />}
        <Group justify="flex-end">
          <Button type="submit" loading={upload.isPending} disabled={file === null}>
            Upload
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function CompatibilityStep({
  firmware,
  onDone,
  onNext,
}: {
  firmware: FirmwareBody;
  onDone: () => void;
  onNext: () => void;
}) {
  const queries = useQueryClient();
  const firmwares = useQuery({
    queryKey: ['firmwares', firmware.prototypeId],
    queryFn: () => client.firmwares(firmware.prototypeId),
  });
  const [mode, setMode] = useState<'all' | 'limit'>('all');
  const [chosen, setChosen] = useState<string[]>([]);
  const others = (firmwares.data ?? []).filter((candidate) => candidate.fwId !== firmware.fwId);
  const save = useMutation({
    mutationFn: () => client.editFirmware(firmware.fwId, { prerequisites: mode === 'all' ? 'all' : chosen }),
    onSuccess: () => void queries.invalidateQueries({ queryKey: ['firmwares', firmware.prototypeId] }),
  });
  const finish = (then: () => void) => save.mutate(undefined, { onSuccess: then });
  return (
    <Stack gap="sm">
      <Text>Devices running a compatible firmware may upgrade to {firmware.version}.</Text>
      {save.isError && <ErrorText error={save.error} title="The compatibility was not saved" />}
      <Radio.Group
        label="Compatible firmware"
        value={mode}
        onChange={(value) => setMode(value === 'limit' ? 'limit' : 'all')}
      >
        <Stack gap="xs" mt="xs">
          <Radio value="all" label="All firmware" />
          <Radio value="limit" label="Limited firmware" />
        </Stack>
      </Radio.Group>
      {mode === 'limit' && (
        <Stack gap="xs" pl="lg">
          <QueryState
            query={firmwares}
            what="firmware"
            isEmpty={() => others.length === 0}
            empty="No other firmware in this prototype."
          >
            {() => (
              <>
                {others.map((other) => (
                  <Checkbox
                    key={other.fwId}
                    label={`${other.name} ${other.version}`}
                    checked={chosen.includes(other.fwId)}
                    onChange={(event) => {
                      const checked = event.currentTarget.checked;
                      setChosen((list) => (checked ? [...list, other.fwId] : list.filter((id) => id !== other.fwId)));
                    }}
                  />
                ))}
              </>
            )}
          </QueryState>
        </Stack>
      )}
      <Group justify="flex-end">
        <Button
          variant="default"
          loading={save.isPending}
          disabled={mode === 'limit' && chosen.length === 0}
          onClick={() => finish(onDone)}
        >
          Done
        </Button>
        <Button
          loading={save.isPending}
          disabled={mode === 'limit' && chosen.length === 0}
          onClick={() => finish(onNext)}
        >
          Next
        </Button>
      </Group>
    </Stack>
  );
}

export function PushStep({ firmware, onClose }: { firmware: FirmwareBody; onClose: () => void }) {
  const devices = useQuery({
    queryKey: ['devices', firmware.prototypeId],
    queryFn: () => client.devices(firmware.prototypeId),
  });
  const [queueOffline, setQueueOffline] = useState(false);
  const [chosen, setChosen] = useState<string[]>([]);
  const selectable = (devices.data ?? []).filter((device) => queueOffline || device.presence.online);
  const picked = chosen.filter((id) => selectable.some((device) => device.deviceId === id));
  const push = useMutation({
    mutationFn: () => client.push(firmware.fwId, { deviceIds: picked, queueOffline }),
    onSuccess: (summary) => {
      onClose();
      navigate(`/pushes/${summary.pushId}`);
    },
  });
  return (
    <Stack gap="sm">
      <Text>
        Push {firmware.name} {firmware.version} to devices:
      </Text>
      {push.isError && <ErrorText error={push.error} title="Not pushed" />}
      <Checkbox
        label="Deliver when online (offline devices get it when they next connect)"
        checked={queueOffline}
        onChange={(e) => setQueueOffline(e.currentTarget.checked)}
      />
      <Group gap="xs">
        <Button
          size="compact-sm"
          variant="light"
          onClick={() => setChosen(selectable.map((device) => device.deviceId))}
        >
          Select all
        </Button>
        <Button size="compact-sm" variant="light" onClick={() => setChosen([])}>
          Clear
        </Button>
      </Group>
      <QueryState query={devices} what="devices" empty="This prototype has no device.">
        {(list) => (
          <Stack gap={6} role="group" aria-label="Devices">
            {list.map((device) => {
              const enabled = queueOffline || device.presence.online;
              return (
                <Group key={device.deviceId} gap="xs" wrap="nowrap">
                  <LiveDot online={device.presence.online} />
                  <Checkbox
                    label={`${device.name} (${device.deviceId})${device.presence.online ? '' : ' · offline'}`}
                    disabled={!enabled}
                    checked={enabled && chosen.includes(device.deviceId)}
                    onChange={(event) => {
                      const checked = event.currentTarget.checked;
                      setChosen((list) =>
                        checked ? [...list, device.deviceId] : list.filter((id) => id !== device.deviceId),
                      );
                    }}
                  />
                </Group>
              );
            })}
          </Stack>
        )}
      </QueryState>
      <Group justify="flex-end">
        <Button variant="default" onClick={onClose}>
          Not now
        </Button>
        <Button loading={push.isPending} disabled={picked.length === 0} onClick={() => push.mutate()}>
          Push
        </Button>
      </Group>
    </Stack>
  );
}
