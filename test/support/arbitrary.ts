// fast-check arbitraries for vmplane objects as users write them: classes, images and VMs with
// every feature the translation touches (disks, cloud-init of all sizes, interfaces, probes,
// zones, devices). Mostly valid, with the edges users reach: long names, large or multibyte
// user data, odd zone values, many GPUs.
import fc from 'fast-check';
import type {
  ClusterVirtualMachineImage,
  VirtualMachine,
  VirtualMachineClass,
} from '../../api/generated/types.ts';
import { API_VERSION } from '../../api/src/wellknown.ts';

const lower = 'abcdefghijklmnopqrstuvwxyz';
const alnum = `${lower}0123456789`;

/** A DNS label (RFC 1123) of 1 to `max` characters. */
export function dnsLabel(max = 63): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.constantFrom(...lower),
      fc.string({ unit: fc.constantFrom(...alnum, '-'), maxLength: Math.max(0, max - 2) }),
      fc.constantFrom(...alnum),
    )
    .map(([a, mid, z]) => (max === 1 ? a : `${a}${mid}${z}`).slice(0, max));
}

/** A DNS subdomain as object names allow: labels joined by dots, up to `max` characters. */
export function dnsSubdomain(max = 253): fc.Arbitrary<string> {
  return fc
    .array(dnsLabel(40), { minLength: 1, maxLength: 3 })
    .map((parts) =>
      parts
        .join('.')
        .slice(0, max)
        .replace(/[-.]+$/, ''),
    )
    .filter((s) => s.length > 0);
}

/** A VM name: usually short, sometimes as long as an object name may be (labels take 63). */
export const vmName = fc.oneof(
  { weight: 16, arbitrary: dnsLabel(20) },
  { weight: 2, arbitrary: dnsLabel(63) },
  { weight: 1, arbitrary: dnsSubdomain(120) },
);

const quantity = (values: string[]): fc.Arbitrary<string> => fc.constantFrom(...values);

/** A device's extended resource name, as nodes advertise them (vendor.com/MODEL). */
const deviceName = fc.oneof(
  fc.constantFrom('nvidia.com/GA102GL_A10', 'nvidia.com/TU104GL_Tesla_T4', 'intel.com/qat'),
  fc.tuple(dnsLabel(10), dnsLabel(20)).map(([v, m]) => `${v}.com/${m.toUpperCase()}`),
);

export interface ClassDraft {
  name: string;
  spec: VirtualMachineClass['spec'];
}

export function vmClassArb(suffix: string): fc.Arbitrary<VirtualMachineClass> {
  return fc
    .record({
      name: dnsLabel(20),
      cpus: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 512 })),
      memory: quantity(['64Mi', '512Mi', '1Gi', '4Gi', '16Gi', '1536Mi', '64Gi', '1Ti']),
      reservation: fc.constantFrom('Guaranteed', 'BestEffort'),
      gpus: fc.array(
        fc.record({
          name: dnsLabel(30),
          deviceName,
          count: fc.option(fc.integer({ min: 1, max: 16 }), { nil: undefined }),
        }),
        { maxLength: 2 },
      ),
      hostDevices: fc.array(fc.record({ name: dnsLabel(30), deviceName }), { maxLength: 2 }),
      withDevices: fc.boolean(),
    })
    .map((r) => {
      const gpus = uniqueBy(r.gpus, (g) => g.name).map((g) =>
        g.count === undefined ? { name: g.name, deviceName: g.deviceName } : g,
      );
      const hostDevices = uniqueBy(r.hostDevices, (h) => h.name);
      const devices =
        r.withDevices && (gpus.length || hostDevices.length)
          ? {
              devices: {
                ...(gpus.length ? { gpus } : {}),
                ...(hostDevices.length ? { hostDevices } : {}),
              },
            }
          : {};
      return {
        apiVersion: API_VERSION,
        kind: 'VirtualMachineClass',
        metadata: { name: `${r.name}-${suffix}` },
        spec: {
          hardware: { cpus: r.cpus, memory: r.memory, ...devices },
          reservation: r.reservation as 'Guaranteed' | 'BestEffort',
        },
      } as VirtualMachineClass;
    });
}

export function clusterImageArb(suffix: string): fc.Arbitrary<ClusterVirtualMachineImage> {
  return fc
    .record({
      name: dnsLabel(20),
      source: fc.oneof(
        dnsLabel(20).map((n) => ({ http: { url: `https://images.example/${n}.qcow2` } })),
        dnsLabel(20).map((n) => ({ registry: { url: `docker://quay.io/containerdisks/${n}:1` } })),
        dnsLabel(20).map((n) => ({ pvc: { name: n, namespace: 'golden-images' } })),
      ),
      size: fc.option(quantity(['1Gi', '10Gi', '2252Mi', '50Gi']), { nil: undefined }),
    })
    .map(
      (r) =>
        ({
          apiVersion: API_VERSION,
          kind: 'ClusterVirtualMachineImage',
          metadata: { name: `${r.name}-${suffix}` },
          spec: { source: r.source, ...(r.size ? { size: r.size } : {}) },
        }) as ClusterVirtualMachineImage,
    );
}

function uniqueBy<T>(xs: T[], key: (x: T) => string): T[] {
  const seen = new Set<string>();
  return xs.filter((x) => (seen.has(key(x)) ? false : (seen.add(key(x)), true)));
}

/** cloud-init text: usually small, sometimes around or over KubeVirt's 2,048 bytes, ASCII or multibyte. */
const text = (maxBytes: number): fc.Arbitrary<string> =>
  fc.oneof(
    {
      weight: 12,
      arbitrary: fc.integer({ min: 0, max: 1500 }).map((n) => `#cloud-config\n${'x'.repeat(n)}`),
    },
    {
      weight: 2,
      arbitrary: fc
        .integer({ min: 1900, max: maxBytes })
        .map((n) => `#cloud-config\n${'x'.repeat(n)}`),
    },
    {
      weight: 2,
      arbitrary: fc
        .integer({ min: 0, max: Math.floor(maxBytes / 2) })
        .map((n) => `#cloud-config\n${'é'.repeat(n)}`),
    },
    { weight: 1, arbitrary: fc.constant('') },
  );

const cloudInit = fc.oneof(
  fc.record({
    userData: text(4096),
    networkData: fc.option(text(3000), { nil: undefined, freq: 3 }),
  }),
  fc.record({
    secretRef: fc.record({
      name: dnsLabel(30),
      key: fc.option(
        fc.oneof(
          { weight: 8, arbitrary: fc.constantFrom('userdata', 'userData') },
          { weight: 1, arbitrary: fc.constant('cloud-init') },
        ),
        { nil: undefined },
      ),
    }),
    networkData: fc.option(text(3000), { nil: undefined, freq: 3 }),
  }),
);

const mac = fc
  .array(fc.integer({ min: 0, max: 255 }), { minLength: 5, maxLength: 5 })
  .map((b) => ['02', ...b.map((x) => x.toString(16).padStart(2, '0'))].join(':'));

const interfaces = fc
  .array(
    fc.record({
      name: dnsLabel(20),
      network: fc.option(dnsSubdomain(60), { nil: undefined, freq: 2 }),
      macAddress: fc.option(mac, { nil: undefined }),
    }),
    { maxLength: 4 },
  )
  .map((xs) => {
    const unique = uniqueBy(xs, (x) => x.name);
    // At most one interface on the pod network (vmplane's own rule, tested elsewhere).
    let pod = 0;
    return unique
      .filter((x) => x.network !== undefined || pod++ === 0)
      .map((x) => Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined)));
  });

const probe = fc.oneof(
  fc.record({ tcpSocket: fc.record({ port: fc.integer({ min: 1, max: 65535 }) }) }),
  fc.record({
    httpGet: fc.record({
      port: fc.integer({ min: 1, max: 65535 }),
      path: fc.constantFrom('/', '/healthz', '/ready?full=1'),
    }),
  }),
  fc.constant({ guestAgent: { enabled: true } }),
);

const zone = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('zone-a', 'eu-west-1b', 'us_east.2') },
  { weight: 1, arbitrary: fc.constantFrom('rack 7', '-edge', 'zone/a') },
  { weight: 1, arbitrary: dnsLabel(63) },
);

const storageFieldArbs = (classes: string[]) => ({
  storageClassName: fc.constantFrom(...classes),
  accessModes: fc.subarray(['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'], {
    minLength: 1,
  }),
  volumeMode: fc.constantFrom('Block', 'Filesystem'),
});

const newDisk = (classes: string[]) =>
  fc
    .tuple(
      dnsLabel(30),
      quantity(['1Mi', '1Gi', '10Gi', '500Gi', '1536Mi']),
      fc.oneof(
        { weight: 3, arbitrary: fc.record({ storageClassName: fc.constantFrom(...classes) }) },
        {
          weight: 1,
          arbitrary: fc.record(storageFieldArbs(classes), { requiredKeys: ['storageClassName'] }),
        },
      ),
    )
    .map(([name, size, s]) => ({ name, size, ...s }));

export interface World {
  classes: string[];
  images: { kind: 'ClusterVirtualMachineImage' | 'VirtualMachineImage'; name: string }[];
  /** VirtualMachineDisks in the namespace. */
  disks: string[];
  /** StorageClasses that exist. */
  storageClasses: string[];
}

/** A VM in `namespace` using the classes, images and disks of `world`. */
export function vmArb(namespace: string, world: World): fc.Arbitrary<VirtualMachine> {
  const existingDisk = fc
    .tuple(dnsLabel(30), fc.constantFrom(...world.disks))
    .map(([name, virtualMachineDiskName]) => ({ name, virtualMachineDiskName }));
  return fc
    .record(
      {
        name: vmName,
        className: fc.constantFrom(...world.classes),
        fromImage: fc.boolean(),
        image: fc.constantFrom(...world.images),
        bootDisk: fc.oneof(
          {
            weight: 3,
            arbitrary: fc.record({
              size: quantity(['20Gi', '1Gi', '100Gi']),
              storageClassName: fc.constantFrom(...world.storageClasses),
            }),
          },
          {
            weight: 1,
            arbitrary: fc.record(
              {
                size: quantity(['20Gi', '1Gi', '100Gi']),
                ...storageFieldArbs(world.storageClasses),
              },
              { requiredKeys: [] },
            ),
          },
        ),
        disks: fc.array(fc.oneof(newDisk(world.storageClasses), existingDisk), { maxLength: 4 }),
        powerState: fc.constantFrom('PoweredOn', 'PoweredOff', 'Suspended'),
        powerOffMode: fc.constantFrom('Hard', 'Soft', 'TrySoft'),
        cloudInit,
        interfaces,
        zone,
        readinessProbe: probe,
      },
      {
        requiredKeys: ['name', 'className', 'fromImage', 'image', 'disks'],
      },
    )
    .map((r) => {
      const disks = uniqueBy(
        r.disks.filter((d) => d.name !== 'boot' && d.name !== 'cloudinit'),
        (d) => d.name,
      ).map((d, i) => (!r.fromImage && i === 0 ? { ...d, boot: true } : d));
      const spec: Record<string, unknown> = {
        className: r.className,
        ...(r.fromImage ? { image: r.image } : {}),
        ...(r.fromImage && r.bootDisk ? { bootDisk: r.bootDisk } : {}),
        ...(disks.length ? { disks } : {}),
        ...(r.powerState ? { powerState: r.powerState } : {}),
        ...(r.powerOffMode ? { powerOffMode: r.powerOffMode } : {}),
        ...(r.cloudInit ? { bootstrap: { cloudInit: withoutUndefined(r.cloudInit) } } : {}),
        ...(r.interfaces?.length ? { network: { interfaces: r.interfaces } } : {}),
        ...(r.zone ? { zone: r.zone } : {}),
        ...(r.readinessProbe ? { readinessProbe: r.readinessProbe } : {}),
      };
      return {
        apiVersion: API_VERSION,
        kind: 'VirtualMachine',
        metadata: { name: r.name, namespace },
        spec: spec as VirtualMachine['spec'],
      } as VirtualMachine;
    })
    .filter((v) => !!v.spec.image || !!v.spec.disks?.some((d) => d.boot));
}

function withoutUndefined<T extends object>(o: T): T {
  return JSON.parse(JSON.stringify(o)) as T;
}
