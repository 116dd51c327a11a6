import type { PlantImport } from '../twin/import.ts';
import { seededRandom } from '../core/random.ts';

/**
 * The demo plant: a gearbox and pump plant with three lines and ten machines, six products with two- to four-step
 * routings (some steps can run on either of two machines), and 36 orders released over the coming week.
 */
export function demoPlant(now: Date): PlantImport {
  const rand = seededRandom(20261128);
  const hour = 3_600_000;
  const start = new Date(Math.ceil(now.getTime() / hour) * hour);

  const products = [
    {
      name: 'Gearbox GB-100',
      routing: [
        { machines: ['CNC-1', 'CNC-2'], minutesPerUnit: 6, setupMinutes: 30 },
        { machines: ['Hob-1'], minutesPerUnit: 4, setupMinutes: 20 },
        { machines: ['Assembly-1', 'Assembly-2'], minutesPerUnit: 8, setupMinutes: 10 },
        { machines: ['EOL-Test'], minutesPerUnit: 2, setupMinutes: 5 },
      ],
    },
    {
      name: 'Gearbox GB-250',
      routing: [
        { machines: ['CNC-2', 'CNC-3'], minutesPerUnit: 9, setupMinutes: 40 },
        { machines: ['Hob-1'], minutesPerUnit: 6, setupMinutes: 25 },
        { machines: ['Assembly-2'], minutesPerUnit: 12, setupMinutes: 15 },
        { machines: ['EOL-Test'], minutesPerUnit: 3, setupMinutes: 5 },
      ],
    },
    {
      name: 'Pump P-40',
      routing: [
        { machines: ['CNC-1', 'CNC-3'], minutesPerUnit: 5, setupMinutes: 20 },
        { machines: ['Assembly-1'], minutesPerUnit: 7, setupMinutes: 10 },
        { machines: ['Paint-1'], minutesPerUnit: 3, setupMinutes: 30 },
      ],
    },
    {
      name: 'Pump P-80',
      routing: [
        { machines: ['CNC-3'], minutesPerUnit: 8, setupMinutes: 35 },
        { machines: ['Assembly-1', 'Assembly-2'], minutesPerUnit: 10, setupMinutes: 10 },
        { machines: ['Paint-1'], minutesPerUnit: 4, setupMinutes: 30 },
        { machines: ['Packer-1'], minutesPerUnit: 1.5, setupMinutes: 5 },
      ],
    },
    {
      name: 'Shaft S-12',
      routing: [
        { machines: ['Lathe-1'], minutesPerUnit: 3, setupMinutes: 15 },
        { machines: ['Hob-1'], minutesPerUnit: 2.5, setupMinutes: 20 },
      ],
    },
    {
      name: 'Service Kit K-7',
      routing: [
        { machines: ['Lathe-1', 'CNC-1'], minutesPerUnit: 2, setupMinutes: 10 },
        { machines: ['Packer-1'], minutesPerUnit: 1, setupMinutes: 5 },
      ],
    },
  ];

  const orders = Array.from({ length: 36 }, (_, i) => {
    const product = products[Math.floor(rand() * products.length)].name;
    const releaseH = Math.floor(rand() * 120);
    const dueH = releaseH + 24 + Math.floor(rand() * 48);
    return {
      code: `SO-${String(24001 + i)}`,
      product,
      quantity: 10 * (1 + Math.floor(rand() * 12)),
      releaseAt: new Date(start.getTime() + releaseH * hour),
      dueAt: new Date(start.getTime() + dueH * hour),
      priority: Math.floor(rand() * 3),
    };
  });

  return {
    name: 'Riverside Works',
    timezone: 'Europe/Berlin',
    lines: [
      {
        name: 'Machining',
        machines: [
          { name: 'CNC-1', kind: 'cnc-mill', idealCycleSeconds: 300 },
          { name: 'CNC-2', kind: 'cnc-mill', idealCycleSeconds: 420 },
          { name: 'CNC-3', kind: 'cnc-mill', idealCycleSeconds: 360 },
          { name: 'Lathe-1', kind: 'lathe', idealCycleSeconds: 150 },
          { name: 'Hob-1', kind: 'gear-hobber', idealCycleSeconds: 210 },
        ],
      },
      {
        name: 'Assembly',
        machines: [
          { name: 'Assembly-1', kind: 'assembly-cell', idealCycleSeconds: 420 },
          { name: 'Assembly-2', kind: 'assembly-cell', idealCycleSeconds: 540 },
          { name: 'EOL-Test', kind: 'test-bench', idealCycleSeconds: 120 },
        ],
      },
      {
        name: 'Finishing',
        machines: [
          { name: 'Paint-1', kind: 'paint-booth', idealCycleSeconds: 180 },
          { name: 'Packer-1', kind: 'packer', idealCycleSeconds: 60 },
        ],
      },
    ],
    products,
    orders,
  };
}
