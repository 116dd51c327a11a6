export * from './twin.ts';
export * from './auth.ts';
export * from './telemetry.ts';
export * from './alerts.ts';
export * from './models.ts';
export * from './jobs.ts';
export * from './datasets.ts';
export * from './schedules.ts';
