/** Which plants a caller may see and change; null for every plant. API keys, JWTs and internal callers all carry one. */
export interface PlantScope {
  readonly plantIds: readonly number[] | null;
}

/** Every plant: internal callers (the MQTT bridge, the demo seed, the sweeper). */
export const ALL_PLANTS: PlantScope = { plantIds: null };

/** The one plant-scope rule. */
export function canSeePlant(scope: PlantScope, plantId: number): boolean {
  return scope.plantIds === null || scope.plantIds.includes(plantId);
}
